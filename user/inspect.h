/* SPDX-License-Identifier: GPL-2.0 */
/* `gomapwatch inspect`: what would be probed, and why. Attaches nothing. */
#ifndef GOMAPWATCH_INSPECT_H
#define GOMAPWATCH_INSPECT_H

int inspect__main(int argc, char **argv);

#endif

/* SPDX-License-Identifier: GPL-2.0 */
/* Records shared by the BPF programs and the loader: fixed-size types only. */
#ifndef GOMAPWATCH_H
#define GOMAPWATCH_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define GMW_MSG_MAX	128	/* bytes of a fatal/panic message kept */
#define GMW_STACK_MAX	24	/* frames kept per stack: the innermost ones */
#define GMW_KEY_MAX	32	/* bytes of a conflict's string key kept */
#define GMW_REC_KEY_MAX	16	/* bytes of a string key the flight recorder keeps */
#define GMW_REC_SLOTS	128	/* flight recorder: the last operations per CPU */
#define GMW_LASTOP_SLOTS 4096	/* flight recorder: each goroutine's last, by runtime.g */

/* Which map operation a hooked function performs. */
enum gmw_op {
	GMW_OP_READ = 1,
	GMW_OP_WRITE,
	GMW_OP_DELETE,
	GMW_OP_CLEAR,
	GMW_OP_ITER,
};

enum gmw_event_type {
	GMW_EV_CONFLICT = 1,
	GMW_EV_FATAL,		/* runtime.fatal / runtime.throw */
	GMW_EV_PANIC,		/* runtime.gopanic */
	GMW_EV_FATALPANIC,	/* runtime.fatalpanic: an unrecovered panic */
};

/* Kernel-side counters, one slot each in a per-CPU array. */
enum gmw_counter {
	GMW_C_WRITE_ENTER,	/* write entries recorded */
	GMW_C_WRITE_EXIT,	/* write exits matched to an entry */
	GMW_C_REENTER,		/* same goroutine, same map: restart after morestack */
	GMW_C_READ,		/* reads and iterations checked (--reads) */
	GMW_C_CONFLICT,		/* conflicts detected, repeats included */
	GMW_C_REPEAT,		/* conflicts whose stack pair was already reported */
	GMW_C_AGED,		/* entries replaced because their exit never came */
	GMW_C_PANIC_CLEAR,	/* entries dropped because their goroutine panicked */
	GMW_C_LOST,		/* records the alert ring had no room for */
	GMW_C_TRACK_FULL,	/* entries the tracking table had no room for */
	GMW_C_PAIRS_FULL,	/* conflicts not reported: the table of stack pairs was full */
	GMW_C_PANIC,		/* runtime.gopanic calls (recovered ones included) */
	GMW_C_STACK_MOVED,	/* conflicts whose other side left before its stack was read */
	GMW_C_STACK_LOCAL,	/* writes to maps on the writer's own stack: not tracked */
	GMW_C_STEPPED,		/* hits on points the kernel single-steps (--max-overhead) */
	GMW_C__MAX,
};

/*
 * What a write's entry and exit probes must know in the kernel: options,
 * and for an exit the register that holds the map there. Carried by the
 * attach cookie (Linux 5.15+), or fixed in one program per combination
 * where the kernel has no cookies. Which function a hit is in, the loader
 * finds from the probed address.
 */
#define GMW_COOKIE(flags, reg)		((__u64)(flags) | ((__u64)(reg) << 8))
#define GMW_COOKIE_FLAGS(c)		((__u8)(c))
#define GMW_COOKIE_REG(c)		((__u8)((c) >> 8))
/*
 * The function's entry also records goroutine -> map in 'owners': one of
 * its exits cannot name the map, or it can panic once inside.
 */
#define GMW_F_OWNER			0x1
/*
 * How the map function is given its key (bits 1-2 of the flags):
 * fast32/fast64 variants by value, faststr as a string's pointer and
 * length, the generic functions by a pointer to the key.
 */
enum gmw_keyform {
	GMW_KEY_NONE,		/* mapclear, iteration */
	GMW_KEY_VALUE,		/* in the third argument register */
	GMW_KEY_STR,		/* third and fourth: data pointer, length */
	GMW_KEY_PTR,		/* third: a pointer to the key */
};
#define GMW_F_KEY(form)			((form) << 1)
#define GMW_FLAGS_KEY(flags)		(((flags) >> 1) & 3)
/*
 * The point is single-stepped, several times the cost of an emulated one: its
 * hits are counted (GMW_C_STEPPED) for --max-overhead's estimate. Only a
 * cookie carries it; no program is made for it.
 */
#define GMW_F_STEPPED			0x8
/*
 * Registers by number: x86-64 rax rbx rcx rdx rsi rdi rbp rsp r8..r15 as
 * 0..15; arm64 x0..x30 as 0..30. GMW_REG_NONE: the exit does not know.
 */
#define GMW_REG_NONE			0xff

/* gmw_side.fn of a writer proven only by the map's write flag. */
#define GMW_FN_UNSEEN			0xffff

/*
 * The key an operation was given, copied when a conflict is reported. The
 * kind is that of the map type's key type; what data holds follows from
 * the form and the kind (string bytes, or the key's first bytes).
 */
struct gmw_key {
	__u64 raw[2];		/* the key's registers as the function got them */
	__u8 form;		/* enum gmw_keyform */
	__u8 kind;		/* Go kind of the key type, 0 if unknown */
	__u8 len;		/* bytes valid in data */
	__u8 pad;
	__u32 full_len;		/* a string key's own length */
	__u8 data[GMW_KEY_MAX];
};
_Static_assert(sizeof(struct gmw_key) == 56, "gmw_key layout");

/* gmw_side.flags */
#define GMW_S_TRUNCATED		0x1	/* the stack walk stopped at GMW_STACK_MAX */
#define GMW_S_LEFT		0x2	/* it left its write before its callers were read */

/* One goroutine inside a map operation. */
struct gmw_side {
	__u64 goid;
	__u64 ts;		/* CLOCK_MONOTONIC ns at entry */
	__u64 ret_ip;		/* caller's return address, read at [SP] on entry */
	__u32 tid;
	__u32 pid;
	__u16 fn;		/* the loader's hooked-function index; GMW_FN_UNSEEN */
	__u8 op;		/* enum gmw_op, filled in by the loader */
	__u8 flag;		/* map write flag byte (hmap.flags / Map.writing) at entry */
	__u32 nframes;		/* valid entries in stack (0 or 1: not walked) */
	__u32 stack_hash;	/* of ret_ip and stack: the same code path, the same hash */
	__u8 flags;		/* GMW_S_* */
	__u8 pad[3];
	__u64 gopc;		/* the go statement that created the goroutine (g.gopc) */
	__u64 parent_goid;	/* the goroutine that ran it (Go 1.21+), 0 if unknown */
	/* [0] the probed instruction, then the frame-pointer walk from the caller's caller */
	__u64 stack[GMW_STACK_MAX];
	struct gmw_key key;
};
_Static_assert(sizeof(struct gmw_side) == 312, "gmw_side layout");

/*
 * A write in flight, as its entry probe records it: only what identifies
 * it. Stacks are walked when a conflict needs them, while this goroutine
 * is still inside its write and its callers' frames are intact.
 */
struct gmw_inflight {
	__u64 map;
	__u64 g;		/* runtime.g: the owner, and where its stack bounds are */
	__u64 goid;
	__u64 ts;		/* CLOCK_MONOTONIC ns at entry */
	__u64 fp;		/* frame pointer at entry: the caller's frame */
	__u64 ret_ip;		/* caller's return address, read at [SP] on entry */
	__u64 stack_hi;		/* g.stack.hi at entry: to follow the stack if it moves */
	__u64 ip;		/* the probed instruction: which function, for the loader */
	__u64 mtype;		/* the map's type (first argument): its key type */
	__u64 key[2];		/* the key's registers (enum gmw_keyform) */
	__u32 pid;
	__u32 tid;
	__u8 flag;		/* map write flag byte at entry */
	__u8 keyform;		/* enum gmw_keyform */
	__u8 pad[6];
};
_Static_assert(sizeof(struct gmw_inflight) == 104, "gmw_inflight layout");

/* Slots of the cache of recent exits (a power of two). */
#define GMW_RECENT_SLOTS	4096

struct gmw_conflict {
	__u32 type;		/* GMW_EV_CONFLICT */
	__u32 pad;
	__u64 map;
	struct gmw_side cur;	/* the goroutine that just entered */
	struct gmw_side other;	/* the goroutine already inside a write */
};
_Static_assert(sizeof(struct gmw_conflict) == 640, "gmw_conflict layout");

/*
 * The flight recorder: every traced map operation leaves one of these in
 * a small ring per CPU, overwritten in turn and never sent anywhere. When
 * the runtime dies of a fatal error the rings stop, and the loader reads
 * them for what happened on that map just before.
 */
struct gmw_rec {
	__u64 ts;		/* CLOCK_MONOTONIC ns */
	__u64 map;
	__u64 goid;
	__u64 ip;		/* the probed instruction: which function */
	__u64 ret_ip;		/* the caller: the user's line */
	__u64 mtype;
	__u64 key[2];
	__u32 pid;
	__u32 tid;
	__u8 keyform;
	__u8 key_len;		/* string bytes valid in key_data */
	__u8 key_kind;		/* 0: the loader finds it from mtype */
	__u8 pad[5];
	__u8 key_data[GMW_REC_KEY_MAX];
};
_Static_assert(sizeof(struct gmw_rec) == 96, "gmw_rec layout");

/*
 * A write in flight as a flight record, string bytes aside (the kernel
 * copies them; the loader has none): one conversion for both sides.
 */
static inline void gmw_rec__from(struct gmw_rec *e, const struct gmw_inflight *r)
{
	e->ts = r->ts;
	e->map = r->map;
	e->goid = r->goid;
	e->ip = r->ip;
	e->ret_ip = r->ret_ip;
	e->mtype = r->mtype;
	e->key[0] = r->key[0];
	e->key[1] = r->key[1];
	e->pid = r->pid;
	e->tid = r->tid;
	e->keyform = r->keyform;
	e->key_kind = 0;
	e->key_len = 0;
}

struct gmw_ring {
	__u64 head;		/* operations recorded on this CPU so far */
	struct gmw_rec rec[GMW_REC_SLOTS];
};

/* Fatal error or panic: message text, bounded by its length. */
struct gmw_message {
	__u32 type;		/* GMW_EV_FATAL, GMW_EV_PANIC, GMW_EV_FATALPANIC */
	__u32 len;		/* bytes valid in msg */
	__u32 full_len;		/* the message's own length */
	__u8 kind;		/* Go kind of a panic value (24 string, 22 pointer) */
	__u8 pad[3];
	struct gmw_side who;
	char msg[GMW_MSG_MAX];
	/* a fatal error: the dying goroutine's last map operation (ts 0: none) */
	struct gmw_rec last;
};
_Static_assert(sizeof(struct gmw_message) == 552, "gmw_message layout");


/*
 * Key of the per-map and per-goroutine tables: map pointers and goroutine
 * IDs are per process, and with -b every process of a binary shares them.
 */
struct gmw_proc_key {
	__u64 id;		/* map pointer, or goroutine ID */
	__u32 pid;
	__u32 pad;
};
_Static_assert(sizeof(struct gmw_proc_key) == 16, "gmw_proc_key layout");

/* Key of the table that reports each pair of stacks once. */
struct gmw_pair_key {
	__u64 ret_a, ret_b;
	__u32 hash_a, hash_b;
};
_Static_assert(sizeof(struct gmw_pair_key) == 24, "gmw_pair_key layout");

/* How often a pair of stacks met, and when first and last. */
struct gmw_pair_val {
	__u64 count;
	__u64 first_ts, last_ts;	/* CLOCK_MONOTONIC ns */
};

/* Unordered: A-then-B and B-then-A are the same bug. */
static inline struct gmw_pair_key gmw_pair_key__make(const struct gmw_side *a,
						      const struct gmw_side *b)
{
	struct gmw_pair_key k = {};

	if (a->ret_ip > b->ret_ip || (a->ret_ip == b->ret_ip && a->stack_hash > b->stack_hash)) {
		const struct gmw_side *t = a;

		a = b;
		b = t;
	}
	k.ret_a = a->ret_ip;
	k.hash_a = a->stack_hash;
	k.ret_b = b->ret_ip;
	k.hash_b = b->stack_hash;
	return k;
}

#endif

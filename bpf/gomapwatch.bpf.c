// SPDX-License-Identifier: GPL-2.0
/*
 * Uprobes on the Go runtime's map functions and its fatal and panic paths.
 * Writers are tracked per map in the kernel, so a conflict is found at the
 * moment it happens and never depends on raw events reaching userspace.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "gomapwatch.h"
#include "goabi.bpf.h"

/* Filled by the loader from the target's DWARF or the offsets table. */
const volatile __u32 goid_off = 152;
const volatile __s32 gopc_off = -1;	/* g.gopc, -1 when unknown */
const volatile __u32 flag_off = 8;	/* hmap.flags, or maps.Map.writing */
const volatile __u8 flag_mask = 4;	/* hashWriting; swiss: any bit */
const volatile __u32 iter_map_off = 24;	/* hiter.h, or maps.Iter.m */
const volatile __u32 panic_arg_off = 8;	/* _panic.arg: 8 until Go 1.25, 0 in 1.26 */
const volatile __u8 kind_mask = 0x1f;	/* Go 1.26 stopped sharing the kind byte */
const volatile __u64 stale_ns = 1000000000ULL;

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct gmw_proc_key);	/* map pointer */
	__type(value, struct gmw_writer);	/* the last goroutine to write it */
} writers SEC(".maps");

/* Not LRU: an evicted owner would leave its write "inside" forever. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct gmw_proc_key);	/* goroutine ID */
	__type(value, __u64);		/* the map it is writing */
} owners SEC(".maps");

/* Too big for the 512-byte BPF stack: one per CPU, uprobe handlers don't nest. */
struct scratch {
	struct gmw_writer me;
	struct gmw_side other;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, struct gmw_pair_key);
	__type(value, __u64);		/* times seen */
} pairs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} alerts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, GMW_C__MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

static __always_inline struct gmw_proc_key proc_key(__u64 id)
{
	struct gmw_proc_key k = { .id = id, .pid = bpf_get_current_pid_tgid() >> 32 };

	return k;
}

static __always_inline void *writers_lookup(__u64 map)
{
	struct gmw_proc_key k = proc_key(map);

	return bpf_map_lookup_elem(&writers, &k);
}

static __always_inline long writers_insert(__u64 map, const struct gmw_writer *w, bool excl)
{
	struct gmw_proc_key k = proc_key(map);

	return bpf_map_update_elem(&writers, &k, w, excl ? BPF_NOEXIST : BPF_ANY);
}

static __always_inline __u64 *owners_lookup(__u64 goid)
{
	struct gmw_proc_key k = proc_key(goid);

	return bpf_map_lookup_elem(&owners, &k);
}

static __always_inline long owners_set(__u64 goid, __u64 map)
{
	struct gmw_proc_key k = proc_key(goid);

	return bpf_map_update_elem(&owners, &k, &map, BPF_ANY);
}

static __always_inline void owners_del(__u64 goid)
{
	struct gmw_proc_key k = proc_key(goid);

	bpf_map_delete_elem(&owners, &k);
}

#define TRACK_LOOKUP(st, m)		writers_lookup(m)
#define TRACK_INSERT(st, m, w, excl)	writers_insert(m, w, excl)
#define TRACK_OWNER_GET(st, g)		owners_lookup(g)
#define TRACK_OWNER_SET(st, g, m)	owners_set(g, m)
#define TRACK_OWNER_DEL(st, g)		owners_del(g)
#include "track.h"

static __always_inline void count(__u32 c)
{
	__u64 *v = bpf_map_lookup_elem(&counters, &c);

	if (v)
		*v += 1;
}

static __always_inline __u64 current_goid(struct pt_regs *ctx)
{
	__u64 goid = 0;

	bpf_probe_read_user(&goid, sizeof(goid), (void *)(GO_G(ctx) + goid_off));
	return goid;
}

static __always_inline __u8 map_flag(__u64 map)
{
	__u8 flag = 0;

	bpf_probe_read_user(&flag, sizeof(flag), (void *)(map + flag_off));
	return flag;
}

/*
 * Go keeps frame pointers: walk them by hand (bpf_get_stackid costs ~5 us a
 * call here, more than the probe itself). The walk starts at the caller's
 * frame, which near function entry skips the caller: that is ret_ip.
 */
static __always_inline void side__stack(struct pt_regs *ctx, struct gmw_side *s)
{
	__u64 fp = PT_REGS_FP(ctx), frame[2];
	__u32 n = 1, h = 2166136261u;

	s->stack[0] = PT_REGS_IP(ctx);
	h = (h ^ (__u32)s->ret_ip) * 16777619u;
	for (int i = 1; i < GMW_STACK_MAX; i++) {
		if (!fp || bpf_probe_read_user(frame, sizeof(frame), (void *)fp) || !frame[1])
			break;
		s->stack[i] = frame[1];
		h = (h ^ (__u32)frame[1]) * 16777619u;
		fp = frame[0];
		n++;
	}
	s->nframes = n;
	s->stack_hash = h;
}

static __always_inline void side__fill(struct pt_regs *ctx, struct gmw_side *s,
				       __u64 goid, __u64 map)
{
	__u64 cookie = bpf_get_attach_cookie(ctx);
	__u64 id = bpf_get_current_pid_tgid();

	s->goid = goid;
	s->ts = bpf_ktime_get_ns();
	s->ret_ip = go_return_address(ctx);
	s->tid = (__u32)id;
	s->pid = id >> 32;
	s->fn = GMW_COOKIE_FN(cookie);
	s->op = GMW_COOKIE_OP(cookie);
	s->flag = map ? map_flag(map) : 0;
	if (gopc_off >= 0)
		bpf_probe_read_user(&s->gopc, sizeof(s->gopc), (void *)(GO_G(ctx) + gopc_off));
	side__stack(ctx, s);
}

/* Report a conflict once per pair of stacks; count the repeats in 'pairs'. */
static __always_inline void conflict__emit(__u64 map, const struct gmw_side *cur,
					   const struct gmw_side *other)
{
	struct gmw_pair_key k = gmw_pair_key__make(cur, other);
	struct gmw_conflict *e;
	__u64 one = 1, *seen;

	count(GMW_C_CONFLICT);
	seen = bpf_map_lookup_elem(&pairs, &k);
	if (seen) {
		__sync_fetch_and_add(seen, 1);
		count(GMW_C_REPEAT);
		return;
	}
	bpf_map_update_elem(&pairs, &k, &one, BPF_NOEXIST);

	e = bpf_ringbuf_reserve(&alerts, sizeof(*e), 0);
	if (!e) {
		count(GMW_C_LOST);
		return;
	}
	e->type = GMW_EV_CONFLICT;
	e->pad = 0;
	e->map = map;
	e->cur = *cur;
	e->other = *other;
	bpf_ringbuf_submit(e, 0);
}

/* The other side of a conflict proven by the write flag alone. */
static __always_inline void side__unseen(struct gmw_side *s)
{
	__builtin_memset(s, 0, sizeof(*s));
	s->fn = GMW_FN_UNSEEN;
}

static __always_inline struct scratch *scratch__get(void)
{
	__u32 zero = 0;
	struct scratch *sc = bpf_map_lookup_elem(&scratch, &zero);

	if (sc)
		__builtin_memset(sc, 0, sizeof(*sc));
	return sc;
}

static __always_inline void write_verdict(int v, __u64 map, const struct gmw_side *me,
					  struct gmw_side *other)
{
	switch (v) {
	case TRACK_AGED:
		count(GMW_C_AGED);
		/* fallthrough */
	case TRACK_ENTERED:
		count(GMW_C_WRITE_ENTER);
		break;
	case TRACK_REENTERED:
		count(GMW_C_REENTER);
		break;
	case TRACK_FULL:
		count(GMW_C_TRACK_FULL);
		break;
	case TRACK_CONFLICT_UNSEEN:
		side__unseen(other);
		/* fallthrough */
	case TRACK_CONFLICT:
		conflict__emit(map, me, other);
		break;
	}
}

SEC("uprobe")
int write_enter(struct pt_regs *ctx)
{
	__u64 map = GO_ARG2(ctx), count_word = 0;
	struct scratch *sc;
	__u64 cookie;
	int v;

	if (!map)
		return 0;	/* nil map: a panic, never a write */
	cookie = bpf_get_attach_cookie(ctx);
	if (GMW_COOKIE_FLAGS(cookie) & GMW_F_SKIP_EMPTY) {
		/* count/used is the first word of both map headers */
		bpf_probe_read_user(&count_word, sizeof(count_word), (void *)map);
		if (!count_word)
			return 0;
	}
	sc = scratch__get();
	if (!sc)
		return 0;
	side__fill(ctx, &sc->me.side, current_goid(ctx), map);
	v = track__write_enter(NULL, map, &sc->me, stale_ns, sc->me.side.flag & flag_mask,
			       &sc->other);
	write_verdict(v, map, &sc->me.side, &sc->other);
	return 0;
}

SEC("uprobe")
int write_exit(struct pt_regs *ctx)
{
	if (track__release(NULL, current_goid(ctx), bpf_ktime_get_ns()))
		count(GMW_C_WRITE_EXIT);
	return 0;
}

static __always_inline int read_check(struct pt_regs *ctx, __u64 map)
{
	struct scratch *sc;
	__u64 goid;
	int v;

	if (!map)
		return 0;
	count(GMW_C_READ);
	sc = scratch__get();
	if (!sc)
		return 0;
	goid = current_goid(ctx);
	v = track__read_check(NULL, map, goid, bpf_ktime_get_ns(), stale_ns,
			      map_flag(map) & flag_mask, &sc->other);
	if (v == TRACK_CLEAR)
		return 0;
	if (v == TRACK_CONFLICT_UNSEEN)
		side__unseen(&sc->other);
	side__fill(ctx, &sc->me.side, goid, map);
	conflict__emit(map, &sc->me.side, &sc->other);
	return 0;
}

SEC("uprobe")
int read_enter(struct pt_regs *ctx)
{
	return read_check(ctx, GO_ARG2(ctx));
}

/* mapiternext(it) / mapIterNext(it): the map is a field of the iterator. */
SEC("uprobe")
int iter_next(struct pt_regs *ctx)
{
	__u64 map = 0;

	bpf_probe_read_user(&map, sizeof(map), (void *)(GO_ARG1(ctx) + iter_map_off));
	return read_check(ctx, map);
}

static __always_inline struct gmw_message *message__start(struct pt_regs *ctx, __u32 type)
{
	struct gmw_message *e;

	e = bpf_ringbuf_reserve(&alerts, sizeof(*e), 0);
	if (!e) {
		count(GMW_C_LOST);
		return NULL;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->type = type;
	side__fill(ctx, &e->who, current_goid(ctx), 0);
	return e;
}

/* Copy a Go string (not NUL-terminated: always bounded by its length). */
static __always_inline void message__text(struct gmw_message *e, __u64 ptr, __u64 len)
{
	__u32 n = len > GMW_MSG_MAX ? GMW_MSG_MAX : len;

	e->full_len = len > 0xffffffffULL ? 0xffffffff : len;
	if (ptr && n && !bpf_probe_read_user(e->msg, n, (void *)ptr))
		e->len = n;
}

/* A panic value (eface): strings and error types whose first word is a string. */
static __always_inline void message__value(struct gmw_message *e, __u64 type, __u64 data)
{
	__u64 str[2] = {};
	__u8 kind = 0;

	if (!type || bpf_probe_read_user(&kind, 1, (void *)(type + 23)))
		return;
	kind &= kind_mask;
	e->kind = kind;
	if (kind != 24 && kind != 22)	/* String; Ptr (e.g. *errors.errorString) */
		return;
	if (bpf_probe_read_user(str, sizeof(str), (void *)data))
		return;
	if (str[1] > (1 << 20))		/* not a string header after all */
		return;
	message__text(e, str[0], str[1]);
}

SEC("uprobe")
int fatal_enter(struct pt_regs *ctx)
{
	struct gmw_message *e = message__start(ctx, GMW_EV_FATAL);

	if (!e)
		return 0;
	message__text(e, GO_ARG1(ctx), GO_ARG2(ctx));
	bpf_ringbuf_submit(e, BPF_RB_FORCE_WAKEUP);
	return 0;
}

SEC("uprobe")
int panic_enter(struct pt_regs *ctx)
{
	struct gmw_message *e;

	/* A panic inside a map function means its exit will never come. */
	if (track__release(NULL, current_goid(ctx), bpf_ktime_get_ns()))
		count(GMW_C_PANIC_CLEAR);
	e = message__start(ctx, GMW_EV_PANIC);
	if (!e)
		return 0;
	message__value(e, GO_ARG1(ctx), GO_ARG2(ctx));
	bpf_ringbuf_submit(e, BPF_RB_FORCE_WAKEUP);
	return 0;
}

SEC("uprobe")
int fatalpanic_enter(struct pt_regs *ctx)
{
	struct gmw_message *e = message__start(ctx, GMW_EV_FATALPANIC);
	__u64 eface[2] = {};

	if (!e)
		return 0;
	if (!bpf_probe_read_user(eface, sizeof(eface),
				 (void *)(GO_ARG1(ctx) + panic_arg_off)))
		message__value(e, eface[0], eface[1]);
	bpf_ringbuf_submit(e, BPF_RB_FORCE_WAKEUP);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

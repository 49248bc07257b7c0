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
const volatile __s32 parent_goid_off = -1;	/* g.parentGoid (Go 1.21+), -1 when unknown */
const volatile __u8 recorder = 1;	/* keep the flight recorder's rings */
const volatile __u32 flag_off = 8;	/* hmap.flags, or maps.Map.writing */
const volatile __u8 flag_mask = 4;	/* hashWriting; swiss: any bit */
const volatile __u32 iter_map_off = 24;	/* hiter.h, or maps.Iter.m */
const volatile __u32 panic_arg_off = 8;	/* _panic.arg: 8 until Go 1.25, 0 in 1.26 */
const volatile __u8 kind_mask = 0x1f;	/* Go 1.26 stopped sharing the kind byte */
const volatile __u64 stale_ns = 1000000000ULL;

/*
 * Set by the loader before it releases the probes: entries stop recording
 * and checking at once, so entry and exit links can all go together (one
 * wait for the kernel's grace periods, not one per kind) and no write left
 * half-seen on the way out can look like a conflict.
 */
volatile __u32 stopping;

/*
 * Set when the runtime dies of a fatal error: the flight recorder's rings
 * keep what led up to it until the loader has read them and clears this.
 */
volatile __u32 rec_frozen;

/*
 * Writes in flight, by map. Not preallocated and not LRU: an element is
 * never evicted from under its owner, and the table holds only writes
 * going on right now (a handful), whatever the number of maps.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct gmw_proc_key);	/* map pointer */
	__type(value, struct gmw_inflight);
} writers SEC(".maps");

/* Goroutine -> the map it writes, for exits that cannot name the map. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct gmw_proc_key);	/* runtime.g */
	__type(value, __u64);		/* the map it is writing */
} owners SEC(".maps");

/*
 * Released records by map address, direct-mapped: only ever used to name
 * the owner of a write flag still set (track.h); a slot can be overwritten
 * or torn, and every use checks it is the map's.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, GMW_RECENT_SLOTS);
	__type(key, __u32);
	__type(value, struct gmw_inflight);
} recent SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, struct gmw_pair_key);
	__type(value, struct gmw_pair_val);
} pairs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} alerts SEC(".maps");

/*
 * Each goroutine's last operation, direct-mapped by runtime.g: a dying
 * goroutine's own can be pushed out of its CPU's ring by others' while it
 * waits inside its write. A slot may be another goroutine's; every use
 * checks.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, GMW_LASTOP_SLOTS);
	__type(key, __u32);
	__type(value, struct gmw_rec);
} lastop SEC(".maps");

static __always_inline struct gmw_rec *lastop_slot(__u64 g)
{
	__u32 k = ((g >> 4) ^ (g >> 16)) & (GMW_LASTOP_SLOTS - 1);

	return bpf_map_lookup_elem(&lastop, &k);
}

/* The flight recorder: one ring per CPU, no submit per operation. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct gmw_ring);
} flight SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, GMW_C__MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

static __always_inline __u32 current_pid(void)
{
	return bpf_get_current_pid_tgid() >> 32;
}

static __always_inline struct gmw_proc_key proc_key(__u64 id, __u32 pid)
{
	struct gmw_proc_key k = { .id = id, .pid = pid };

	return k;
}

/*
 * A map update's error as a negative errno. Before Linux 6.4 the maps'
 * update functions returned int, and the verifier calls them directly:
 * -EEXIST came back as 0xffffffef in a 64-bit register, never equal to
 * -17, so a held map looked like a full table (5.10 and 6.1 reported no
 * conflict and counted every re-entry as untracked).
 */
static __always_inline long map_err(long err)
{
	return (int)err;
}

/* The tables of track.h; st carries the process ID. */
static __always_inline long claim(__u32 *pid, const struct gmw_inflight *rec)
{
	struct gmw_proc_key k = proc_key(rec->map, *pid);

	return map_err(bpf_map_update_elem(&writers, &k, rec, BPF_NOEXIST));
}

static __always_inline void *holder(__u32 *pid, __u64 map)
{
	struct gmw_proc_key k = proc_key(map, *pid);

	return bpf_map_lookup_elem(&writers, &k);
}

static __always_inline void unclaim(__u32 *pid, __u64 map)
{
	struct gmw_proc_key k = proc_key(map, *pid);

	bpf_map_delete_elem(&writers, &k);
}

static __always_inline void *owner_get(__u32 *pid, __u64 g)
{
	struct gmw_proc_key k = proc_key(g, *pid);

	return bpf_map_lookup_elem(&owners, &k);
}

static __always_inline long owner_set(__u32 *pid, __u64 g, __u64 map)
{
	struct gmw_proc_key k = proc_key(g, *pid);

	return bpf_map_update_elem(&owners, &k, &map, BPF_ANY);
}

static __always_inline void owner_del(__u32 *pid, __u64 g)
{
	struct gmw_proc_key k = proc_key(g, *pid);

	bpf_map_delete_elem(&owners, &k);
}

static __always_inline __u32 recent_slot(__u64 map)
{
	return ((map >> 4) ^ (map >> 17)) & (GMW_RECENT_SLOTS - 1);
}

static __always_inline void *recent_get(__u64 map)
{
	__u32 k = recent_slot(map);

	return bpf_map_lookup_elem(&recent, &k);
}

static __always_inline void recent_put(const struct gmw_inflight *rec)
{
	struct gmw_inflight *slot = recent_get(rec->map);

	if (slot)
		*slot = *rec;
}

#define TRACK_RECENT_GET(st, m)		recent_get(m)
#define TRACK_RECENT_PUT(st, rec)	recent_put(rec)
#define TRACK_CLAIM(st, m, rec)		claim(st, rec)
#define TRACK_LOOKUP(st, m)		holder(st, m)
#define TRACK_DELETE(st, m)		unclaim(st, m)
#define TRACK_OWNER_SET(st, g, m)	owner_set(st, g, m)
#define TRACK_OWNER_GET(st, g)		owner_get(st, g)
#define TRACK_OWNER_DEL(st, g)		owner_del(st, g)
#include "track.h"

static __always_inline void count(__u32 c)
{
	__u64 *v = bpf_map_lookup_elem(&counters, &c);

	if (v)
		*v += 1;
}

static __always_inline __u8 map_flag(__u64 map)
{
	__u8 flag = 0;

	bpf_probe_read_user(&flag, sizeof(flag), (void *)(map + flag_off));
	return flag;
}

/*
 * Who is here: goid and stack bounds. Everything a write entry keeps, and
 * nothing it does not need unless there is a conflict. True when map lives
 * on this goroutine's own stack.
 */
static __always_inline bool inflight__fill(struct pt_regs *ctx, struct gmw_inflight *r,
					   __u64 map, __u64 pid_tgid)
{
	__u64 g = GO_G(ctx), gw[2] = {};

	bpf_probe_read_user(gw, sizeof(gw), (void *)g);	/* stack.lo, stack.hi */
	bpf_probe_read_user(&r->goid, sizeof(r->goid), (void *)(g + goid_off));
	r->map = map;
	r->g = g;
	r->ts = bpf_ktime_get_ns();
	r->fp = PT_REGS_FP(ctx);
	r->ret_ip = go_return_address(ctx);
	r->stack_hi = gw[1];
	r->ip = PT_REGS_IP(ctx);
	r->pid = pid_tgid >> 32;
	r->tid = (__u32)pid_tgid;
	return map >= gw[0] && map < gw[1];
}

/* The key's registers, as the function got them; read only if needed. */
static __always_inline void inflight__key(struct pt_regs *ctx, struct gmw_inflight *r, __u8 form)
{
	r->keyform = form;
	if (form == GMW_KEY_NONE)
		return;
	r->mtype = GO_ARG1(ctx);
	r->key[0] = GO_ARG3(ctx);
	r->key[1] = GO_ARG4(ctx);
}

/* Copy up to max bytes of a Go string; n is kept bounded for the verifier. */
#define COPY_STR(dst, max, ptr, len, got)						\
	do {										\
		__u32 __n = (len) > (max) ? (max) : (len);				\
		if ((ptr) && __n && !bpf_probe_read_user(dst, __n, (void *)(ptr)))	\
			got = __n;							\
	} while (0)

/*
 * One operation into this CPU's ring. Strings are copied now, a few
 * bytes: by the time the loader reads the ring the process may be gone.
 */
static __always_inline void rec__fill(struct gmw_rec *e, const struct gmw_inflight *r)
{
	__u32 got = 0;

	gmw_rec__from(e, r);
	if (r->keyform == GMW_KEY_STR)
		COPY_STR(e->key_data, GMW_REC_KEY_MAX, r->key[0], r->key[1], got);
	e->key_len = got;
}

static __always_inline void rec__put(const struct gmw_inflight *r)
{
	struct gmw_rec *e, *last;
	struct gmw_ring *ring;
	__u32 zero = 0;

	if (!recorder || rec_frozen)
		return;
	ring = bpf_map_lookup_elem(&flight, &zero);
	if (!ring)
		return;
	e = &ring->rec[ring->head & (GMW_REC_SLOTS - 1)];
	rec__fill(e, r);
	ring->head++;
	last = lastop_slot(r->g);
	if (last)
		*last = *e;
}

/*
 * Go keeps frame pointers: walk them by hand (bpf_get_stackid costs ~5 us a
 * call here, more than the probe itself). fp is the caller's frame, which
 * near function entry skips the caller: that is ret_ip. Frames must climb
 * inside [lo, hi), the goroutine's stack.
 */
static __always_inline void side__walk(struct gmw_side *s, __u64 fp, __u64 lo, __u64 hi)
{
	__u64 frame[2];
	__u32 n = 1, h = 2166136261u;
	bool more = true;

	h = (h ^ (__u32)s->ret_ip) * 16777619u;
	for (int i = 1; i < GMW_STACK_MAX; i++) {
		if (fp < lo || fp + 16 > hi || bpf_probe_read_user(frame, sizeof(frame), (void *)fp) ||
		    !frame[1]) {
			more = false;
			break;
		}
		s->stack[i] = frame[1];
		h = (h ^ (__u32)frame[1]) * 16777619u;
		n++;
		if (frame[0] <= fp) {
			more = false;
			break;	/* callers' frames sit higher: the chain is broken */
		}
		fp = frame[0];
	}
	/* cut at the limit, with a caller still to come: say so */
	if (more && fp >= lo && fp + 16 <= hi &&
	    !bpf_probe_read_user(frame, sizeof(frame), (void *)fp) && frame[1])
		s->flags |= GMW_S_TRUNCATED;
	s->nframes = n;
	s->stack_hash = h;
}

/*
 * The key of a side's operation, read while that goroutine is still inside
 * it (the key stays alive). Its kind comes from the map type's key type.
 */
static __always_inline void side__key(struct gmw_side *s, const struct gmw_inflight *r)
{
	struct gmw_key *k = &s->key;
	__u64 kt = 0, hdr[2] = {};
	__u32 got = 0;
	__u8 kind = 0;

	k->raw[0] = r->key[0];
	k->raw[1] = r->key[1];
	k->form = r->keyform;
	if (r->keyform == GMW_KEY_NONE)
		return;
	/* maptype and SwissMapType: the key type follows the 48-byte Type */
	if (!bpf_probe_read_user(&kt, sizeof(kt), (void *)(r->mtype + 48)) && kt &&
	    !bpf_probe_read_user(&kind, 1, (void *)(kt + 23)))
		k->kind = kind & kind_mask;
	if (r->keyform == GMW_KEY_STR) {
		k->full_len = r->key[1] > 0xffffffffULL ? 0xffffffff : r->key[1];
		COPY_STR(k->data, GMW_KEY_MAX, r->key[0], r->key[1], got);
	} else if (r->keyform == GMW_KEY_PTR && k->kind == 24) {
		if (!bpf_probe_read_user(hdr, sizeof(hdr), (void *)r->key[0])) {
			k->full_len = hdr[1] > 0xffffffffULL ? 0xffffffff : hdr[1];
			COPY_STR(k->data, GMW_KEY_MAX, hdr[0], hdr[1], got);
		}
	} else if (r->keyform == GMW_KEY_PTR) {
		if (!bpf_probe_read_user(k->data, 8, (void *)r->key[0]))
			got = 8;
	}
	k->len = got;
}

static __always_inline void side__from(struct gmw_side *s, const struct gmw_inflight *r)
{
	s->goid = r->goid;
	s->ts = r->ts;
	s->ret_ip = r->ret_ip;
	s->tid = r->tid;
	s->pid = r->pid;
	s->flag = r->flag;
	s->stack[0] = r->ip;
	s->nframes = 1;
	s->stack_hash = 0;
	if (gopc_off >= 0)
		bpf_probe_read_user(&s->gopc, sizeof(s->gopc), (void *)(r->g + gopc_off));
	if (parent_goid_off >= 0)
		bpf_probe_read_user(&s->parent_goid, sizeof(s->parent_goid),
				    (void *)(r->g + parent_goid_off));
	side__key(s, r);
}

/*
 * A goroutine's stack from its record. If the stack was copied since (it
 * grew), the frame pointer moved with it by the same distance from the top.
 */
static __always_inline void side__stack(struct gmw_side *s, const struct gmw_inflight *r)
{
	__u64 gw[2] = {};

	if (bpf_probe_read_user(gw, sizeof(gw), (void *)r->g))
		return;
	side__walk(s, r->fp + (gw[1] - r->stack_hi), gw[0], gw[1]);
}

/*
 * Is other (its stack just walked) still inside its write on map: still
 * the holder, or, named from the recent exits, still before the flag clear?
 */
static __always_inline bool still_inside(__u64 map, __u32 pid, const struct gmw_inflight *other)
{
	const struct gmw_inflight *r;
	struct gmw_inflight now;

	if (track__holder(&pid, map, pid, &now))
		return now.g == other->g && now.ts == other->ts;
	r = recent_get(map);
	return r && r->g == other->g && r->ts == other->ts && (map_flag(map) & flag_mask);
}

/* Report a conflict once per pair of stacks; count the repeats in 'pairs'. */
static __always_inline void conflict__emit(struct pt_regs *ctx, const struct gmw_inflight *me,
					   const struct gmw_inflight *other, bool unseen)
{
	struct gmw_conflict *e;
	struct gmw_pair_val first = { 1, me->ts, me->ts }, *seen;
	struct gmw_pair_key k;
	__u32 pid = me->pid;
	long err;

	count(GMW_C_CONFLICT);
	e = bpf_ringbuf_reserve(&alerts, sizeof(*e), 0);
	if (!e) {
		count(GMW_C_LOST);
		return;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->type = GMW_EV_CONFLICT;
	e->map = me->map;
	/* the other side first: it is on its way out */
	if (unseen) {
		e->other.fn = GMW_FN_UNSEEN;
	} else {
		side__from(&e->other, other);
		side__stack(&e->other, other);
		/* still inside? else its frames may be gone already */
		if (!still_inside(me->map, pid, other)) {
			e->other.nframes = 1;
			e->other.flags = GMW_S_LEFT;
			count(GMW_C_STACK_MOVED);
		}
	}
	side__from(&e->cur, me);
	side__stack(&e->cur, me);
	k = gmw_pair_key__make(&e->cur, &e->other);
	seen = bpf_map_lookup_elem(&pairs, &k);
	if (seen) {
		__sync_fetch_and_add(&seen->count, 1);
		seen->last_ts = me->ts;
		count(GMW_C_REPEAT);
		bpf_ringbuf_discard(e, BPF_RB_NO_WAKEUP);
		return;
	}
	err = map_err(bpf_map_update_elem(&pairs, &k, &first, BPF_NOEXIST));
	if (err) {
		/* another CPU's report of the same pair, or the table is full:
		 * then say so in the summary rather than flood the ring */
		seen = err == -TRACK_EEXIST ? bpf_map_lookup_elem(&pairs, &k) : NULL;
		if (seen)
			__sync_fetch_and_add(&seen->count, 1);
		count(err == -TRACK_EEXIST ? GMW_C_REPEAT : GMW_C_PAIRS_FULL);
		bpf_ringbuf_discard(e, BPF_RB_NO_WAKEUP);
		return;
	}
	bpf_ringbuf_submit(e, 0);
}

static __always_inline void write_verdict(struct pt_regs *ctx, int v,
					  const struct gmw_inflight *me,
					  const struct gmw_inflight *other)
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
		count(GMW_C_WRITE_ENTER);
		conflict__emit(ctx, me, other, true);
		break;
	case TRACK_CONFLICT:
		conflict__emit(ctx, me, other, false);
		break;
	}
}

/* A hit the kernel single-stepped: the budget's estimate counts them apart. */
static __always_inline void count_stepped(__u64 cookie)
{
	if (GMW_COOKIE_FLAGS(cookie) & GMW_F_STEPPED)
		count(GMW_C_STEPPED);
}

static __always_inline int write_enter_do(struct pt_regs *ctx, __u64 cookie)
{
	struct gmw_inflight me = {}, other = {};
	__u64 map = GO_ARG2(ctx);
	int v;

	count_stepped(cookie);
	if (!map || stopping)
		return 0;	/* nil map: a panic or a no-op, never a write */
	/*
	 * A map on the goroutine's own stack never escaped to another one:
	 * nothing can race on it. And its address moves when the stack is
	 * copied (growth inside the write), so an exit could not find it.
	 */
	if (inflight__fill(ctx, &me, map, bpf_get_current_pid_tgid())) {
		count(GMW_C_STACK_LOCAL);
		return 0;
	}
	me.flag = map_flag(map);
	inflight__key(ctx, &me, GMW_FLAGS_KEY(GMW_COOKIE_FLAGS(cookie)));
	v = track__write_enter(&me.pid, &me, stale_ns, me.flag & flag_mask,
			       GMW_COOKIE_FLAGS(cookie) & GMW_F_OWNER, &other);
	write_verdict(ctx, v, &me, &other);
	rec__put(&me);
	return 0;
}

/*
 * The register an exit's cookie names (GMW_REG_*). Copied to the stack
 * first: the verifier takes no variable offset into the context.
 */
static __always_inline __u64 reg_by_number(struct pt_regs *ctx, __u8 r)
{
#if defined(__TARGET_ARCH_x86)
	__u64 regs[16] = {
		ctx->ax, ctx->bx, ctx->cx, ctx->dx, ctx->si, ctx->di, ctx->bp, 0,
		ctx->r8, ctx->r9, ctx->r10, ctx->r11, ctx->r12, ctx->r13, 0, ctx->r15,
	};

	return regs[r & 15];
#else
	/* arm64 exits name the map through the owner record (plan_arm64.c) */
	return 0;
#endif
}

static __always_inline int write_exit_do(struct pt_regs *ctx, __u64 cookie)
{
	__u64 g = GO_G(ctx);
	__u8 reg = GMW_COOKIE_REG(cookie);
	__u32 pid = current_pid();
	int held;

	count_stepped(cookie);
	if (reg == GMW_REG_NONE) {
		held = track__release_owned(&pid, pid, g);
	} else {
		held = track__release_map(&pid, reg_by_number(ctx, reg), pid, g);
		if (GMW_COOKIE_FLAGS(cookie) & GMW_F_OWNER)
			owner_del(&pid, g);
	}
	if (held)
		count(GMW_C_WRITE_EXIT);
	return 0;
}

/* Linux 5.15+: what the probe must know comes with its cookie. */
SEC("uprobe")
int write_enter(struct pt_regs *ctx)
{
	return write_enter_do(ctx, bpf_get_attach_cookie(ctx));
}

SEC("uprobe")
int write_exit(struct pt_regs *ctx)
{
	return write_exit_do(ctx, bpf_get_attach_cookie(ctx));
}

/*
 * Kernels without cookies: one program per combination of what the cookie
 * would say, named for it (the loader picks by name: wenter_F, wexit_F_R).
 */
#define WRITE_ENTER_AS(flags)								SEC("uprobe") int wenter_##flags(struct pt_regs *ctx)				{											return write_enter_do(ctx, GMW_COOKIE(flags, GMW_REG_NONE));		}
#define WRITE_EXIT_AS(flags, reg)							SEC("uprobe") int wexit_##flags##_##reg(struct pt_regs *ctx)			{											return write_exit_do(ctx, GMW_COOKIE(flags, reg));			}
/* owner bit, and the key's form (GMW_F_KEY) */
WRITE_ENTER_AS(0) WRITE_ENTER_AS(1) WRITE_ENTER_AS(2) WRITE_ENTER_AS(3)
WRITE_ENTER_AS(4) WRITE_ENTER_AS(5) WRITE_ENTER_AS(6) WRITE_ENTER_AS(7)
WRITE_EXIT_AS(0, 255)	/* GMW_REG_NONE: the owner record names the map */
#if defined(__TARGET_ARCH_x86)
/* every register an exit can name the map in (reg_by_number: not rsp, r14) */
#define WRITE_EXIT_REG(reg) WRITE_EXIT_AS(0, reg) WRITE_EXIT_AS(1, reg)
WRITE_EXIT_REG(0) WRITE_EXIT_REG(1) WRITE_EXIT_REG(2) WRITE_EXIT_REG(3)
WRITE_EXIT_REG(4) WRITE_EXIT_REG(5) WRITE_EXIT_REG(6) WRITE_EXIT_REG(8)
WRITE_EXIT_REG(9) WRITE_EXIT_REG(10) WRITE_EXIT_REG(11) WRITE_EXIT_REG(12)
WRITE_EXIT_REG(13) WRITE_EXIT_REG(15)
#endif

static __always_inline int read_check(struct pt_regs *ctx, __u64 map, __u8 keyform)
{
	struct gmw_inflight me = {}, other = {};
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 pid = pid_tgid >> 32;
	int v;

	if (!map || stopping)
		return 0;
	count(GMW_C_READ);
	if (inflight__fill(ctx, &me, map, pid_tgid))
		return 0;	/* on its own stack: no other goroutine has it */
	inflight__key(ctx, &me, keyform);
	v = track__read_check(&pid, map, pid, me.g, me.ts, stale_ns,
			      map_flag(map) & flag_mask, &other);
	if (v != TRACK_CLEAR) {
		me.flag = map_flag(map);
		conflict__emit(ctx, &me, &other, v == TRACK_CONFLICT_UNSEEN);
	}
	rec__put(&me);
	return 0;
}

SEC("uprobe")
int read_enter(struct pt_regs *ctx)
{
	__u64 cookie = bpf_get_attach_cookie(ctx);

	count_stepped(cookie);
	return read_check(ctx, GO_ARG2(ctx), GMW_FLAGS_KEY(GMW_COOKIE_FLAGS(cookie)));
}

/* Kernels without cookies: one read program per key form (rd_F). */
#define READ_AS(flags)									\
SEC("uprobe") int rd_##flags(struct pt_regs *ctx)					\
{											\
	return read_check(ctx, GO_ARG2(ctx), GMW_FLAGS_KEY(flags));			\
}
READ_AS(0) READ_AS(2) READ_AS(4) READ_AS(6)

/* mapiternext(it) / mapIterNext(it): the map is a field of the iterator. */
SEC("uprobe")
int iter_next(struct pt_regs *ctx)
{
	__u64 map = 0;

	bpf_probe_read_user(&map, sizeof(map), (void *)(GO_ARG1(ctx) + iter_map_off));
	return read_check(ctx, map, GMW_KEY_NONE);
}

/* The goroutine of a fatal or panic event, with its whole stack. */
static __always_inline void side__here(struct pt_regs *ctx, struct gmw_side *s)
{
	struct gmw_inflight r = {};

	inflight__fill(ctx, &r, 0, bpf_get_current_pid_tgid());
	side__from(s, &r);
	side__stack(s, &r);
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
	side__here(ctx, &e->who);
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
	struct gmw_rec *last;

	if (!e)
		return 0;
	message__text(e, GO_ARG1(ctx), GO_ARG2(ctx));
	/* keep what led up to it: the loader reads the rings, then clears this */
	rec_frozen = 1;
	last = lastop_slot(GO_G(ctx));
	if (last && last->goid == e->who.goid && last->pid == e->who.pid)
		e->last = *last;
	bpf_ringbuf_submit(e, BPF_RB_FORCE_WAKEUP);
	return 0;
}

/*
 * Recovered panics can be frequent: counted here, and sent without waking
 * the loader, which drains the ring on its timer. Fatal events wake it.
 */
SEC("uprobe")
int panic_enter(struct pt_regs *ctx)
{
	struct gmw_message *e;
	__u32 pid = current_pid();

	count(GMW_C_PANIC);
	/* A panic inside a map function means its exit will never come. */
	if (track__release_owned(&pid, pid, GO_G(ctx)))
		count(GMW_C_PANIC_CLEAR);
	e = message__start(ctx, GMW_EV_PANIC);
	if (!e)
		return 0;
	message__value(e, GO_ARG1(ctx), GO_ARG2(ctx));
	bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
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

/*
 * --max-overhead: does nothing, on a function of gomapwatch's own, to time
 * what a uprobe hit costs before any program work (tracer__calibrate).
 */
SEC("uprobe")
int calib(struct pt_regs *ctx)
{
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

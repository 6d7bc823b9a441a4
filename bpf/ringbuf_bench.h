/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Layout shared by the BPF program (bpf/ringbuf_bench.bpf.c) and the native
 * addon (native/). The TypeScript side mirrors it in src/shared/event.ts.
 */
#ifndef RINGBUF_BENCH_H
#define RINGBUF_BENCH_H

#include <linux/types.h>

/* Producer ids index per-producer counters; the CLI caps --producers at this. */
#define BENCH_MAX_PRODUCERS 64

/* Offset of the little-endian u32 producer id inside the test packet. */
#define BENCH_PKT_PRODUCER_OFF 0

/*
 * The first 16 bytes of every sample. The rest of the sample (event_size - 16
 * bytes) is copied from the test packet, starting at packet offset 0.
 */
struct bench_event_header {
	__u64 timestamp_ns; /* bpf_ktime_get_ns(): CLOCK_MONOTONIC */
	__u64 producer_seq; /* producer id << 48 | per-producer sequence number */
};
#define BENCH_SEQ_BITS 48

/* Set in .rodata before load; the verifier sees these as constants. */
struct bench_config {
	__u32 event_size;   /* whole sample, header included */
	__u32 discard_every; /* 0: never; K: discard every K-th event (tests the discard bit) */
	__u64 submit_flags; /* 0, BPF_RB_NO_WAKEUP or BPF_RB_FORCE_WAKEUP */
};

/* One cache line per producer so producers on different CPUs do not share lines. */
struct bench_producer_counters {
	__u64 next_seq;  /* sequence numbers handed out, including dropped/discarded ones */
	__u64 drops;     /* bpf_ringbuf_reserve failed: ring full */
	__u64 discards;  /* reserved, then discarded on purpose */
	__u64 pad[5];
};

struct bench_state {
	struct bench_producer_counters producers[BENCH_MAX_PRODUCERS];
};

#endif

/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Layout shared by the BPF program (bpf/ringbuf_bench.bpf.c) and the native
 * addon (native/). The TypeScript side mirrors it in src/shared/event.ts; the
 * addon exports these values (native/src/addon.cc Contract) and TypeScript
 * refuses to run when they differ.
 */
#ifndef RINGBUF_BENCH_H
#define RINGBUF_BENCH_H

#include <linux/types.h>

/* Producer ids index per-producer counters; the CLI caps --producers at this. */
#define BENCH_MAX_PRODUCERS 64

/* Offset of the little-endian u32 producer id inside the test packet. */
#define BENCH_PKT_PRODUCER_OFF 0

/*
 * Largest event, header included: the size of a producer's payload template
 * and perf buffer scratch (struct bench_event_buffer), and the CLI's limit
 * (src/shared/event.ts MAX_EVENT_SIZE, checked against this at load).
 */
#define BENCH_MAX_EVENT_SIZE 3072

/*
 * Largest event `bpf_ringbuf_output()` can send from the program's stack
 * (BENCH_SUBMIT_OUTPUT). A BPF program has 512 bytes of stack, shared by the
 * event buffer, the other locals and register spills. Found on this project's
 * kernel 6.18 with clang 14 by building with larger buffers
 * (clang ... -DBENCH_OUTPUT_MAX_EVENT_SIZE=N): clang refuses 480 and more
 * ("Looks like the BPF stack limit of 512 bytes is exceeded"); with 472 the
 * object builds and the verifier accepts every program with a 472-byte event
 * (test/kernel-modes.test.ts loads it). The addon refuses a larger event_size
 * before loading anything; so must the CLI (exit 2).
 */
#ifndef BENCH_OUTPUT_MAX_EVENT_SIZE
#define BENCH_OUTPUT_MAX_EVENT_SIZE 472
#endif

/*
 * The first 16 bytes of every sample. The rest of the sample (event_size - 16
 * bytes) is the producer's payload: the first bytes of its test packet
 * (test-run trigger) or of its payload template, which user space fills with
 * the same packet bytes (syscall trigger).
 */
struct bench_event_header {
	__u64 timestamp_ns; /* bpf_ktime_get_ns(): CLOCK_MONOTONIC */
	__u64 producer_seq; /* producer id << 48 | per-producer sequence number */
};
#define BENCH_SEQ_BITS 48

/* Which BPF buffer the events go to. */
enum bench_buffer {
	BENCH_BUFFER_RINGBUF = 0, /* BPF_MAP_TYPE_RINGBUF `events` */
	BENCH_BUFFER_PERFBUF = 1, /* BPF_MAP_TYPE_PERF_EVENT_ARRAY `perf_events`, bpf_perf_event_output() */
};

/* How an event enters the BPF ring buffer. */
enum bench_submit {
	BENCH_SUBMIT_RESERVE = 0, /* bpf_ringbuf_reserve() + write in place + submit/discard */
	BENCH_SUBMIT_OUTPUT = 1,  /* build it on the stack, bpf_ringbuf_output() copies it in */
};

/* Set in .rodata before load; the verifier sees these as constants and prunes the branches not taken. */
struct bench_config {
	__u32 event_size;   /* whole sample, header included */
	__u32 discard_every; /* 0: never; K: discard every K-th event (reserve only; tests the discard bit) */
	__u64 submit_flags; /* 0, BPF_RB_NO_WAKEUP or BPF_RB_FORCE_WAKEUP (ring buffer) */
	/*
	 * Sampled wake-ups (ring buffer): when non-zero, submit with
	 * BPF_RB_FORCE_WAKEUP once bpf_ringbuf_query(BPF_RB_AVAIL_DATA) >= this
	 * many bytes, else BPF_RB_NO_WAKEUP; submit_flags is then unused.
	 */
	__u64 wakeup_threshold;
	__u32 buffer;       /* enum bench_buffer */
	__u32 submit;       /* enum bench_submit */
	__u32 syscall_nr;   /* the syscall whose entry triggers the tracing programs */
	/*
	 * Thread ids in the producer_threads map are gettid() values of user
	 * space. When user space runs in the initial pid namespace (pidns_ino 0)
	 * they equal bpf_get_current_pid_tgid()'s; otherwise the program asks
	 * bpf_get_ns_current_pid_tgid() for the tid in that namespace (dev, ino
	 * of /proc/self/ns/pid).
	 */
	__u32 pidns_ino;
	__u64 pidns_dev;
};

/* One cache line per producer so producers on different CPUs do not share lines. */
struct bench_producer_counters {
	__u64 next_seq;  /* sequence numbers handed out, including dropped/discarded ones */
	__u64 drops;     /* no room (reserve/output/perf output failed) or the payload could not be copied */
	__u64 discards;  /* reserved, then discarded on purpose */
	__u64 pad[5];
};

struct bench_state {
	struct bench_producer_counters producers[BENCH_MAX_PRODUCERS];
};

/*
 * A value of the producer_events map: producer p's payload template (bytes
 * 16.. hold the first bytes of its test packet, written by user space for the
 * syscall trigger) and, for the perf buffer, the whole event the program
 * stamps bytes 0..15 into before bpf_perf_event_output() copies it out.
 */
struct bench_event_buffer {
	__u8 bytes[BENCH_MAX_EVENT_SIZE];
};

#endif

// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * One run of a program produces one event: it takes the producer's next
 * sequence number, stamps a 16-byte header and sends header + payload to the
 * BPF ring buffer or the perf buffer. Every path keeps the same accounting:
 * the sequence number is used up whatever happens, and an event that does not
 * reach the buffer is counted as a drop (or a discard, when asked for).
 *
 * Two triggers, one program each, chosen at load (libbpf autoload):
 *   produce            tc, run by BPF_PROG_TEST_RUN; the producer id and the
 *                      payload come from the test packet;
 *   produce_fentry,    the entry of the syscall in config.syscall_nr (getpgid);
 *   produce_tp_btf,    user space registers each producer thread's tid in
 *   produce_raw_tp     producer_threads and its payload template in
 *                      producer_events. The addon attaches the first of them
 *                      this kernel accepts (native/src/bpf_object.cc).
 * The payload template holds the same packet bytes, so the two triggers
 * produce byte-identical events and equal checksums.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include "ringbuf_bench.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096); /* replaced by bpf_map__set_max_entries() before load */
} events SEC(".maps");

/* One perf ring per CPU; max_entries 0: libbpf sizes it to the possible CPUs. */
struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} perf_events SEC(".maps");

/* Per producer: payload template and perf buffer scratch (struct bench_event_buffer). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, BENCH_MAX_PRODUCERS);
	__type(key, __u32);
	__type(value, struct bench_event_buffer);
} producer_events SEC(".maps");

/* Syscall trigger: tid of a registered producer thread -> its producer id. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, BENCH_MAX_PRODUCERS);
	__type(key, __u32);
	__type(value, __u32);
} producer_threads SEC(".maps");

/* .rodata is frozen at load, so the verifier treats these fields as constants. */
const volatile struct bench_config config = { .event_size = sizeof(struct bench_event_header) };

/* .bss: read by user space with a map lookup. */
struct bench_state state;

/* Where an event's payload comes from. A compile-time constant at every call. */
enum payload_source {
	FROM_PACKET,   /* the test packet of a tc program (bpf_skb_load_bytes) */
	FROM_TEMPLATE, /* the producer's template in producer_events */
};

/* Copies the payload (len > 0 bytes) to dst; 0 on success. */
static __always_inline long copy_payload(void *ctx, enum payload_source src, void *dst, __u32 len,
					 const struct bench_event_buffer *template)
{
	if (src == FROM_PACKET)
		return bpf_skb_load_bytes(ctx, 0, dst, len);
	return bpf_probe_read_kernel(dst, len, template->bytes + sizeof(struct bench_event_header));
}

/*
 * The ring buffer's submit flags. With a threshold, as the kernel's
 * tools/testing/selftests/bpf/progs/ringbuf_bench.c does: force a wake-up once
 * at least that much data waits, else none. After a reserve the query counts
 * the reserved record (the producer position has moved); before an output it
 * does not.
 */
static __always_inline __u64 ringbuf_flags(void)
{
	if (!config.wakeup_threshold)
		return config.submit_flags;
	return bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= config.wakeup_threshold ? BPF_RB_FORCE_WAKEUP
											 : BPF_RB_NO_WAKEUP;
}

/* bpf_ringbuf_reserve(), write the event in place, submit (or discard). */
static __always_inline int emit_reserve(void *ctx, enum payload_source src, struct bench_producer_counters *c,
					__u64 tag, __u64 seq, const struct bench_event_buffer *template)
{
	const __u32 payload_len = config.event_size - sizeof(struct bench_event_header);
	struct bench_event_header *e;

	e = bpf_ringbuf_reserve(&events, config.event_size, 0);
	if (!e) {
		c->drops++;
		return 0;
	}
	e->timestamp_ns = bpf_ktime_get_ns();
	e->producer_seq = tag;
	if (payload_len > 0 && copy_payload(ctx, src, e + 1, payload_len, template)) {
		bpf_ringbuf_discard(e, 0);
		c->drops++;
		return -1;
	}
	if (config.discard_every && seq % config.discard_every == config.discard_every - 1) {
		bpf_ringbuf_discard(e, 0);
		c->discards++;
		return 0;
	}
	bpf_ringbuf_submit(e, ringbuf_flags());
	return 0;
}

/* Build the event on the stack, bpf_ringbuf_output() copies it into the ring. */
static __always_inline int emit_output(void *ctx, enum payload_source src, struct bench_producer_counters *c,
				       __u64 tag, const struct bench_event_buffer *template)
{
	const __u32 payload_len = config.event_size - sizeof(struct bench_event_header);
	__u64 buf[BENCH_OUTPUT_MAX_EVENT_SIZE / sizeof(__u64)];
	struct bench_event_header *e = (void *)buf;

	e->timestamp_ns = bpf_ktime_get_ns();
	e->producer_seq = tag;
	if (payload_len > 0 && copy_payload(ctx, src, e + 1, payload_len, template)) {
		c->drops++;
		return -1;
	}
	if (bpf_ringbuf_output(&events, buf, config.event_size, ringbuf_flags()))
		c->drops++;
	return 0;
}

/*
 * bpf_perf_event_output() into this CPU's perf ring. It fails (-ENOSPC) when
 * the ring has no room; the kernel then counts the sample as lost and writes
 * a PERF_RECORD_LOST record with the count once room is back, so the drops
 * counted here and the lost counts a consumer reads agree.
 *   tc:       the header from the stack, the payload appended straight from
 *             the packet (bpf_skb_event_output: the skb byte count goes in
 *             the flags' BPF_F_CTXLEN_MASK bits) - one copy, as reserve makes;
 *   template: the header stamped into the producer's own buffer, which holds
 *             the payload already - one copy again. Per producer rather than
 *             per CPU, so two threads on one CPU never share it.
 */
static __always_inline int emit_perf(void *ctx, enum payload_source src, struct bench_producer_counters *c,
				     __u64 tag, struct bench_event_buffer *template)
{
	const __u32 payload_len = config.event_size - sizeof(struct bench_event_header);
	long err;

	if (src == FROM_PACKET) {
		struct bench_event_header e = { .timestamp_ns = bpf_ktime_get_ns(), .producer_seq = tag };

		err = bpf_perf_event_output(ctx, &perf_events, BPF_F_CURRENT_CPU | ((__u64)payload_len << 32), &e,
					    sizeof(e));
	} else {
		struct bench_event_header *e = (void *)template->bytes;

		e->timestamp_ns = bpf_ktime_get_ns();
		e->producer_seq = tag;
		err = bpf_perf_event_output(ctx, &perf_events, BPF_F_CURRENT_CPU, template->bytes, config.event_size);
	}
	if (err)
		c->drops++;
	return 0;
}

/*
 * One event for `producer`. Returns 0, or -1 when the payload could not be
 * copied (counted as a drop; the tc program then returns TC_ACT_SHOT).
 */
static __always_inline int emit(void *ctx, __u32 producer, enum payload_source src)
{
	/* Index first, while the verifier still knows producer < BENCH_MAX_PRODUCERS (the key's stack copy loses that). */
	struct bench_producer_counters *c = &state.producers[producer];
	struct bench_event_buffer *template = 0;
	__u64 seq, tag;

	if (src == FROM_TEMPLATE) {
		template = bpf_map_lookup_elem(&producer_events, &producer);
		if (!template)
			return -1;
	}
	/* Each producer id is driven by one thread at a time: no atomics needed. */
	seq = c->next_seq++;
	tag = ((__u64)producer << BENCH_SEQ_BITS) | seq;

	if (config.buffer == BENCH_BUFFER_PERFBUF)
		return emit_perf(ctx, src, c, tag, template);
	if (config.submit == BENCH_SUBMIT_OUTPUT)
		return emit_output(ctx, src, c, tag, template);
	return emit_reserve(ctx, src, c, tag, seq, template);
}

SEC("tc")
int produce(struct __sk_buff *skb)
{
	__u32 producer;

	if (bpf_skb_load_bytes(skb, BENCH_PKT_PRODUCER_OFF, &producer, sizeof(producer)))
		return TC_ACT_SHOT;
	if (producer >= BENCH_MAX_PRODUCERS)
		return TC_ACT_SHOT;
	return emit(skb, producer, FROM_PACKET) ? TC_ACT_SHOT : TC_ACT_OK;
}

/* The calling thread's id as user space's gettid() gives it (see bench_config.pidns_ino). */
static __always_inline __u32 current_tid(void)
{
	if (config.pidns_ino) {
		struct bpf_pidns_info ns;

		if (bpf_get_ns_current_pid_tgid(config.pidns_dev, config.pidns_ino, &ns, sizeof(ns)))
			return 0;
		return ns.pid;
	}
	return (__u32)bpf_get_current_pid_tgid();
}

/* An event for the calling thread if user space registered it as a producer; nothing otherwise. */
static __always_inline int produce_for_thread(void *ctx)
{
	__u32 tid = current_tid();
	__u32 *producer = bpf_map_lookup_elem(&producer_threads, &tid);

	if (!producer || *producer >= BENCH_MAX_PRODUCERS)
		return 0;
	emit(ctx, *producer, FROM_TEMPLATE);
	return 0;
}

/* Attached to the syscall's own function (target set with bpf_program__set_attach_target()): no id filter needed. */
SEC("fentry")
int produce_fentry(void *ctx)
{
	return produce_for_thread(ctx);
}

/*
 * The sys_enter tracepoint fires for every syscall of every process: args[1]
 * is the syscall number. The cheap id test comes first, the map lookup only
 * for the benchmark's syscall.
 */
SEC("tp_btf/sys_enter")
int produce_tp_btf(__u64 *ctx)
{
	if (ctx[1] != config.syscall_nr)
		return 0;
	return produce_for_thread(ctx);
}

SEC("raw_tp/sys_enter")
int produce_raw_tp(__u64 *ctx)
{
	if (ctx[1] != config.syscall_nr)
		return 0;
	return produce_for_thread(ctx);
}

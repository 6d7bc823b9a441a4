// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * One run of this program produces one event: it reserves a record in the ring,
 * stamps it, copies the payload out of the test packet and submits it. User
 * space triggers it with BPF_PROG_TEST_RUN (repeat = N gives N events).
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

/* .rodata is frozen at load, so the verifier treats these fields as constants. */
const volatile struct bench_config config = { .event_size = sizeof(struct bench_event_header) };

/* .bss: read by user space with a map lookup. */
struct bench_state state;

SEC("tc")
int produce(struct __sk_buff *skb)
{
	const __u32 payload_len = config.event_size - sizeof(struct bench_event_header);
	struct bench_producer_counters *c;
	struct bench_event_header *e;
	__u32 producer;
	__u64 seq;

	if (bpf_skb_load_bytes(skb, BENCH_PKT_PRODUCER_OFF, &producer, sizeof(producer)))
		return TC_ACT_SHOT;
	if (producer >= BENCH_MAX_PRODUCERS)
		return TC_ACT_SHOT;
	c = &state.producers[producer];
	/* Each producer id is driven by one thread at a time: no atomics needed. */
	seq = c->next_seq++;

	e = bpf_ringbuf_reserve(&events, config.event_size, 0);
	if (!e) {
		c->drops++;
		return TC_ACT_OK;
	}
	e->timestamp_ns = bpf_ktime_get_ns();
	e->producer_seq = ((__u64)producer << BENCH_SEQ_BITS) | seq;
	if (payload_len > 0 && bpf_skb_load_bytes(skb, 0, e + 1, payload_len)) {
		bpf_ringbuf_discard(e, 0);
		c->drops++;
		return TC_ACT_SHOT;
	}
	if (config.discard_every && seq % config.discard_every == config.discard_every - 1) {
		bpf_ringbuf_discard(e, 0);
		c->discards++;
		return TC_ACT_OK;
	}
	bpf_ringbuf_submit(e, config.submit_flags);
	return TC_ACT_OK;
}

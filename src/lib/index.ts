/**
 * bpf-ringbuf-bench as a library: read any BPF ring buffer map from Node.js,
 * zero-copy or by copy, with the same reader the benchmark measures.
 *
 *     import { openRing } from 'bpf-ringbuf-bench';
 *     const ring = openRing({ pinned: '/sys/fs/bpf/my_events' });
 *     for await (const record of ring.events({ signal })) handle(record.view, record.offset, record.length);
 *     ring.close();
 *
 * See docs/library.md for reading modes, waiting, lifetimes and ordering.
 */
export { openRing, Ring, RingRecord, type OpenRingOptions, type RingConsumeOptions, type RingWaitOptions } from './ring.js';
export { OpenRingError, mapInfo, BPF_MAP_TYPE_RINGBUF, type MapInfo, type MapSource } from './bpf-map.js';
export { RingReader, EMPTY, BUSY, type RingReaderOptions } from './ring-reader.js';
export { RECORD_HEADER_SIZE, BUSY_BIT, DISCARD_BIT, LENGTH_MASK, MAX_RING_SIZE, recordSize, recordsThatFit, type RingMemory } from './ring-layout.js';

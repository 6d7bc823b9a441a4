/**
 * The perf buffer's per-CPU ring as the kernel exposes it to user space
 * (include/uapi/linux/perf_event.h, kernel/events/ring_buffer.c). This file is
 * the one place that knows it; perf-reader.ts builds on these definitions.
 *
 * One mapping per CPU, read-write (a ring mapped without PROT_WRITE is in
 * overwrite mode, with no data_tail):
 *
 *   metadata page   struct perf_event_mmap_page
 *                     data_head   u64 @ 1024  written by the kernel: end of the published records
 *                     data_tail   u64 @ 1032  written by the consumer: end of what it has read
 *                     data_offset u64 @ 1040  where the data area starts (one page in)
 *                     data_size   u64 @ 1048  its size, 2^k pages
 *   data area       data_size bytes, mapped ONCE: unlike the BPF ring buffer's
 *                   double mapping, a record that runs past the end continues
 *                   at the start of the area.
 *
 * Positions are 64-bit byte counters that grow forever; a record starts at
 * data offset `position & (data_size - 1)`. The kernel keeps data_head - data_tail
 * <= data_size (it refuses a record that does not fit: ring_buffer_has_space()).
 *
 * A record is a struct perf_event_header { u32 type; u16 misc; u16 size } and a
 * body; `size` counts the header and is a multiple of 8. From a
 * PERF_COUNT_SW_BPF_OUTPUT event with sample_type PERF_SAMPLE_RAW:
 *   PERF_RECORD_SAMPLE  header, u32 raw size, raw bytes. The raw size is the
 *                       sample's length padded so the record stays 8-byte
 *                       aligned (perf_sample_save_raw_data(); in
 *                       perf_prepare_sample() before Linux 6.2:
 *                       round_up(length + 4, 8) - 4), and the pad bytes are
 *                       not written: a consumer must know the sample's own
 *                       length to checksum it.
 *   PERF_RECORD_LOST    header, u64 id, u64 lost: `lost` samples did not fit.
 * Records start 8-byte aligned, so the 8-byte header and the u32 raw size never
 * straddle the end of the data area; only a sample's bytes can.
 * All multi-byte fields are little-endian here (x86-64, arm64), as the readers assume.
 */import * as fs from 'node:fs';


/** sizeof(struct perf_event_header) */
export const PERF_HEADER_SIZE = 8;
export const PERF_RECORD_LOST = 2;
export const PERF_RECORD_SAMPLE = 9;

/** offsetof(struct perf_event_mmap_page, ...) */
export const DATA_HEAD_OFFSET = 1024;
export const DATA_TAIL_OFFSET = 1032;
export const DATA_OFFSET_OFFSET = 1040;
export const DATA_SIZE_OFFSET = 1048;

/** In a record: the header's u16 size is the high half of its second word. */
export const RECORD_SIZE_SHIFT = 16;
/** In a PERF_RECORD_SAMPLE: the u32 raw size, then the raw bytes. */
export const SAMPLE_RAW_SIZE_OFFSET = 8;
export const SAMPLE_DATA_OFFSET = 12;
/** In a PERF_RECORD_LOST: the u64 count of lost samples. */
export const LOST_COUNT_OFFSET = 16;
export const LOST_RECORD_SIZE = 24;
/** A record's size is a u16: the largest record, and the largest raw size a sample can have. */
export const MAX_RECORD_SIZE = 0xfff8;
export const MAX_RAW_SIZE = MAX_RECORD_SIZE - SAMPLE_DATA_OFFSET;

/** The values the addon's C headers must agree with (checked when it loads: addon.ts). */
export const PERF_LAYOUT_CONTRACT: Record<string, number> = {
  perfEventHeaderSize: PERF_HEADER_SIZE,
  perfRecordSample: PERF_RECORD_SAMPLE,
  perfRecordLost: PERF_RECORD_LOST,
  perfDataHeadOffset: DATA_HEAD_OFFSET,
  perfDataTailOffset: DATA_TAIL_OFFSET,
  perfDataOffsetOffset: DATA_OFFSET_OFFSET,
  perfDataSizeOffset: DATA_SIZE_OFFSET,
};

/** The raw size the kernel gives a sample of `sampleLength` bytes: padded so 4 + raw size is a multiple of 8. */
export function perfRawSize(sampleLength: number): number {
  return ((sampleLength + 4 + 7) & ~7) - 4;
}

/** Bytes a sample of `sampleLength` bytes occupies in a perf ring. */
export function perfRecordSize(sampleLength: number): number {
  return SAMPLE_DATA_OFFSET + perfRawSize(sampleLength);
}

/**
 * How many samples of `sampleLength` bytes an empty ring of `dataSize` bytes
 * takes before an output fails: the kernel needs CIRC_SPACE(head, tail, size)
 * >= record size (kernel/events/ring_buffer.c, ring_buffer_has_space()), and
 * CIRC_SPACE keeps one byte free, so at most dataSize - 1 bytes are used.
 */
export function perfRecordsThatFit(dataSize: number, sampleLength: number): number {
  return Math.floor((dataSize - 1) / perfRecordSize(sampleLength));
}

/**
 * The online CPUs, as /sys/devices/system/cpu/online lists them ("0-3,5"):
 * the perf buffer has one ring per online CPU (native/src/perf_buffer.cc reads
 * the same file, as libbpf does).
 */
export function onlineCpus(list = readOnline()): number[] {
  const cpus: number[] = [];
  for (const part of list.trim().split(',')) {
    if (!part) continue;
    const [first, last = first] = part.split('-').map(Number);
    for (let cpu = first; cpu <= last; cpu++) cpus.push(cpu);
  }
  return cpus;
}

function readOnline(): string {
  try {
    return fs.readFileSync('/sys/devices/system/cpu/online', 'utf8');
  } catch {
    return '0';
  }
}

/** One CPU's ring: the addon's mapping (PerfBuffer.rings) or a simulated one. */
export interface PerfRingMemory {
  cpu: number;
  /** Metadata page, then the data area. */
  buffer: SharedArrayBuffer;
}

/** Where the data area is, from the metadata page (the kernel fills data_offset and data_size). */
export function perfRingGeometry(ring: PerfRingMemory): { dataOffset: number; dataSize: number } {
  const page = new DataView(ring.buffer);
  const dataOffset = Number(page.getBigUint64(DATA_OFFSET_OFFSET, true));
  const dataSize = Number(page.getBigUint64(DATA_SIZE_OFFSET, true));
  if (dataSize <= 0 || dataSize & (dataSize - 1) || dataOffset < DATA_SIZE_OFFSET + 8 || dataOffset + dataSize > ring.buffer.byteLength)
    throw new RangeError(`not a perf ring: data_offset ${dataOffset}, data_size ${dataSize}, mapping ${ring.buffer.byteLength} bytes`);
  return { dataOffset, dataSize };
}

/**
 * Builds a perf ring in an ordinary SharedArrayBuffer with the kernel's
 * layout, for tests and simulations: metadata page (data_offset, data_size
 * filled in) and a data area of `dataSize` bytes, mapped once.
 */
export function simulatedPerfRing(dataSize: number, pageSize = 4096, cpu = 0): PerfRingMemory {
  const buffer = new SharedArrayBuffer(pageSize + dataSize);
  const page = new DataView(buffer);
  page.setBigUint64(DATA_OFFSET_OFFSET, BigInt(pageSize), true);
  page.setBigUint64(DATA_SIZE_OFFSET, BigInt(dataSize), true);
  return { cpu, buffer };
}

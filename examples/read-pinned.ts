/**
 * Reads a BPF ring buffer that another process fills, through its bpffs pin,
 * on the main thread's event loop, until Ctrl-C or --seconds pass:
 *
 *   node build/examples/read-pinned.js /sys/fs/bpf/my_ring [--copy] [--seconds N]
 *
 * Prints the first records' sizes and leading bytes, then once a second how
 * many records and bytes arrived, and a total at the end. The record format is
 * whatever the producer writes; this reads the first 8 bytes of each.
 *
 * Outside this repository, import from the package instead:
 *   import { openRing } from 'bpf-ringbuf-bench';
 */
import { openRing, OpenRingError } from '../src/lib/index.js';

async function main(): Promise<number> {
  const [pinned, ...flags] = process.argv.slice(2);
  if (!pinned || pinned.startsWith('-')) {
    console.error('usage: read-pinned PIN_PATH [--copy] [--seconds N]');
    return 2;
  }
  const mode = flags.includes('--copy') ? 'copy' : 'view';
  const secondsAt = flags.indexOf('--seconds');
  const seconds = secondsAt >= 0 ? Number(flags[secondsAt + 1]) : Infinity;

  let ring;
  try {
    ring = openRing({ pinned });
  } catch (err) {
    if (err instanceof OpenRingError) {
      console.error(`read-pinned: ${err.message}`);
      return 2;
    }
    throw err;
  }
  console.log(`${pinned}: map "${ring.info.name}" (id ${ring.info.id}), ${ring.size / 1024} KiB ring, reading in ${mode} mode`);

  const stop = new AbortController();
  process.once('SIGINT', () => stop.abort());
  if (Number.isFinite(seconds)) setTimeout(() => stop.abort(), seconds * 1000).unref();

  let records = 0;
  let bytes = 0;
  let lastRecords = 0;
  let lastBytes = 0;
  const report = setInterval(() => {
    console.log(`  ${records - lastRecords} records/s, ${((bytes - lastBytes) / 1e6).toFixed(2)} MB/s, backlog ${ring.backlog} bytes`);
    lastRecords = records;
    lastBytes = bytes;
  }, 1000);

  try {
    // The record is only valid during the callback: read what you need, or copy() it.
    await ring.onData(
      (record) => {
        if (records < 3) {
          const head = record.length >= 8 ? record.view.getBigUint64(record.offset, true).toString(16) : '-';
          console.log(`  record ${records}: ${record.length} bytes, first u64 0x${head}`);
        }
        records++;
        bytes += record.length;
      },
      { signal: stop.signal, mode },
    );
  } catch (err) {
    if (!stop.signal.aborted) throw err; // aborting is how this example stops
  } finally {
    clearInterval(report);
    ring.close(); // the map is released here, not at garbage collection
  }
  console.log(`total: ${records} records, ${bytes} bytes`);
  return 0;
}

main().then((code) => (process.exitCode = code));

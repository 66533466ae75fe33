// The flights example's data: 3 million US domestic flights of January–June 2001 from the
// `vega-datasets` npm package (data/flights-3m.parquet: scheduled local date and time, delay
// in minutes, distance in miles, origin, destination), read with hyparquet into compact
// columns. Split by date, never shuffled: train on January–April, calibrate on May, test on
// June, so every evaluation looks at months the model never saw.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { asyncBufferFromFile, parquetMetadataAsync, parquetRead } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';

/** A departure counts as delayed at 15 minutes or more (the US DOT's on-time definition). */
export const DELAY_THRESHOLD_MINUTES = 15;
/** Class labels of the flights models, index = class. */
export const FLIGHT_LABELS = ['on_time', 'delayed'] as const;

/** Flights as columns, sorted by scheduled time as the file is. */
export interface Flights {
  size: number;
  /** Airport codes; `origin` and `destination` index into it. */
  airports: string[];
  /** Day index since 2001-01-01 (local calendar of the schedule). */
  day: Int16Array;
  /** Scheduled local hour, 0–23. */
  hour: Uint8Array;
  /** Day of week, 0 = Sunday. */
  dayOfWeek: Uint8Array;
  delay: Int16Array;
  distance: Int16Array;
  origin: Uint16Array;
  destination: Uint16Array;
}

/** First day of the data: day 0. */
export const EPOCH_MS = Date.UTC(2001, 0, 1);

/** Day index of a `YYYY-MM-DD` date. */
export function dayOfDate(date: string): number {
  const ms = Date.parse(`${date}T00:00:00Z`);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(date) || !Number.isFinite(ms)) throw new Error(`not a date "YYYY-MM-DD": "${date}"`);
  return Math.round((ms - EPOCH_MS) / 86_400_000);
}

/** `YYYY-MM-DD` of a day index. */
export function dateOfDay(day: number): string {
  return new Date(EPOCH_MS + day * 86_400_000).toISOString().slice(0, 10);
}

/** The date split: [start, end) day ranges. */
export const FLIGHT_SPLITS = {
  train: { from: dayOfDate('2001-01-01'), to: dayOfDate('2001-05-01') },
  calibration: { from: dayOfDate('2001-05-01'), to: dayOfDate('2001-06-01') },
  test: { from: dayOfDate('2001-06-01'), to: dayOfDate('2001-07-02') },
} as const;
export type FlightSplit = keyof typeof FLIGHT_SPLITS;

/** The split a day belongs to. */
export function splitOfDay(day: number): FlightSplit {
  if (day < FLIGHT_SPLITS.calibration.from) return 'train';
  if (day < FLIGHT_SPLITS.test.from) return 'calibration';
  return 'test';
}

/** Path of data/flights-3m.parquet inside the installed vega-datasets package. */
export function flightsParquetPath(): string {
  return fileURLToPath(new URL('../../node_modules/vega-datasets/data/flights-3m.parquet', import.meta.url));
}

const CACHE_MAGIC = 'edgeinfer-flights-v1';

/**
 * Reads the parquet file into columns. Decoding 3 M rows takes tens of seconds, so the columns
 * are kept in node_modules/.cache keyed by the file's size and SHA-256 prefix; the cache holds
 * exactly what the parquet decode gives, so results do not depend on it.
 */
export async function loadFlights(path = flightsParquetPath(), options: { cache?: boolean } = {}): Promise<Flights> {
  const bytes = readFileSync(path);
  const tag = `${statSync(path).size}-${createHash('sha256').update(bytes).digest('hex').slice(0, 16)}`;
  const cacheFile = fileURLToPath(new URL(`../../node_modules/.cache/edgeinfer/flights-${tag}.bin`, import.meta.url));
  if (options.cache !== false && existsSync(cacheFile)) return readCache(cacheFile);
  const flights = await decodeParquet(path);
  if (options.cache !== false) {
    mkdirSync(dirname(cacheFile), { recursive: true });
    writeCache(cacheFile, flights);
  }
  return flights;
}

async function decodeParquet(path: string): Promise<Flights> {
  const file = await asyncBufferFromFile(path);
  const metadata = await parquetMetadataAsync(file);
  const size = Number(metadata.num_rows);
  // Columns arrive in chunks (onChunk), so the 3 M rows never exist as objects at once.
  const codes = new Map<string, number>();
  const rawOrigin = new Uint16Array(size);
  const rawDestination = new Uint16Array(size);
  const flights: Flights = {
    size,
    airports: [],
    day: new Int16Array(size),
    hour: new Uint8Array(size),
    dayOfWeek: new Uint8Array(size),
    delay: new Int16Array(size),
    distance: new Int16Array(size),
    origin: new Uint16Array(size),
    destination: new Uint16Array(size),
  };
  const codeOf = (code: string) => {
    let index = codes.get(code);
    if (index === undefined) codes.set(code, (index = codes.size));
    return index;
  };
  await parquetRead({
    file,
    metadata,
    compressors,
    columns: ['date', 'delay', 'distance', 'origin', 'destination'],
    onChunk: ({ columnName, columnData, rowStart }) => {
      const data = columnData as ArrayLike<unknown>;
      for (let j = 0; j < data.length; j++) {
        const i = rowStart + j;
        const value = data[j];
        switch (columnName) {
          case 'date': {
            // TIMESTAMP without UTC adjustment: the schedule's local wall clock, read as UTC fields.
            const date = value as Date;
            flights.day[i] = Math.floor((date.getTime() - EPOCH_MS) / 86_400_000);
            flights.hour[i] = date.getUTCHours();
            flights.dayOfWeek[i] = date.getUTCDay();
            break;
          }
          case 'delay':
            flights.delay[i] = Number(value);
            break;
          case 'distance':
            flights.distance[i] = Number(value);
            break;
          case 'origin':
            rawOrigin[i] = codeOf(value as string);
            break;
          case 'destination':
            rawDestination[i] = codeOf(value as string);
            break;
        }
      }
    },
  });
  // Airports indexed in sorted order, so indices do not depend on the order chunks arrived in.
  flights.airports = [...codes.keys()].sort();
  const remap = new Uint16Array(codes.size);
  flights.airports.forEach((code, sorted) => (remap[codes.get(code) as number] = sorted));
  for (let i = 0; i < size; i++) {
    flights.origin[i] = remap[rawOrigin[i] as number] as number;
    flights.destination[i] = remap[rawDestination[i] as number] as number;
  }
  return flights;
}

const ARRAYS = ['day', 'hour', 'dayOfWeek', 'delay', 'distance', 'origin', 'destination'] as const;

function writeCache(file: string, f: Flights): void {
  const header = Buffer.from(JSON.stringify({ magic: CACHE_MAGIC, size: f.size, airports: f.airports }));
  const parts = [Buffer.alloc(4), header, ...ARRAYS.map((k) => Buffer.from(f[k].buffer, f[k].byteOffset, f[k].byteLength))];
  (parts[0] as Buffer).writeUInt32LE(header.length);
  writeFileSync(file, Buffer.concat(parts));
}

function readCache(file: string): Flights {
  const buf = readFileSync(file);
  const headerLength = buf.readUInt32LE(0);
  const header = JSON.parse(buf.subarray(4, 4 + headerLength).toString()) as { magic: string; size: number; airports: string[] };
  if (header.magic !== CACHE_MAGIC) throw new Error(`${file}: not a flights cache; delete it`);
  let offset = 4 + headerLength;
  const take = <T>(Ctor: { new (b: ArrayBuffer, o: number, n: number): T; BYTES_PER_ELEMENT: number }): T => {
    const bytes = buf.subarray(offset, offset + header.size * Ctor.BYTES_PER_ELEMENT);
    offset += bytes.length;
    const copy = new Uint8Array(bytes).buffer; // aligned copy
    return new Ctor(copy, 0, header.size);
  };
  return {
    size: header.size,
    airports: header.airports,
    day: take(Int16Array),
    hour: take(Uint8Array),
    dayOfWeek: take(Uint8Array),
    delay: take(Int16Array),
    distance: take(Int16Array),
    origin: take(Uint16Array),
    destination: take(Uint16Array),
  };
}

/** 1 when the flight left {@link DELAY_THRESHOLD_MINUTES} or more late. */
export function isDelayed(f: Flights, i: number): 0 | 1 {
  return (f.delay[i] as number) >= DELAY_THRESHOLD_MINUTES ? 1 : 0;
}

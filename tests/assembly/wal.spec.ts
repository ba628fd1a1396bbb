import { H_CHECKSUM, H_OP, H_PARENT, PREPARE_BODY_CHECKSUM, PREPARE_HEADER_CHECKSUM, PREPARE_OK, prepareCheckBody, prepareCheckHeader, prepareSeal } from "../../assembly/journal/prepare";
import {
  APPEND_OK, APPEND_OP_ORDER, APPEND_PARENT, APPEND_SLOT_BUSY, SLOT_CORRUPT, SLOT_MISSING, SLOT_TORN, SLOT_VALID, WAL_CLEAN,
  WAL_FAIL, WAL_TRUNCATE, walAppend, walAppendDurable, walDrainCommit, walEnd, walFind, walInit, walLastOp, walLoadSlots,
  walRegionBytes, walScanBegin, walTruncateFrom, walFileHeaderSeal, walFileHeaderSlots, walScanFeed, walScanPos, walScanWant, walSlotNeedsHeader, walSlotState, walStopAt, walVerdict,
} from "../../assembly/journal/wal";

const SLOTS: u32 = 8;
const BODY: u32 = 40;
const ENTRY: u32 = 256 + BODY;
const FH: u32 = 4096;
const LOG: u32 = FH + SLOTS * 256;

// A journal "file" in memory: header slots, then `count` chained prepares for ops 1..count. With `headers`, the
// first `headers` ops also have their slot header (i.e. were acknowledged).
function makeFile(count: u32, headers: u32): usize {
  const file = heap.alloc(LOG + count * ENTRY + 64);
  memory.fill(file, 0, LOG + count * ENTRY + 64);
  let parent: u64 = 0;
  for (let i: u32 = 0; i < count; i++) {
    const p = file + LOG + i * ENTRY;
    store<u64>(p + H_OP, <u64>(i + 1));
    store<u64>(p + H_PARENT, parent);
    for (let b: u32 = 0; b < BODY; b++) store<u8>(p + 256 + b, <u8>(i * 3 + b));
    prepareSeal(p, ENTRY);
    parent = load<u64>(p + H_CHECKSUM);
    if (i < headers) memory.copy(file + FH + (<usize>((i + 1) % SLOTS)) * 256, p, 256);
  }
  return file;
}

// Boot over `size` bytes of `file`, reading exactly what the core asks for.
function boot(r: usize, file: usize, size: u32): u32 {
  walInit(r, SLOTS, 1 << 20);
  walLoadSlots(r, file + FH);
  walScanBegin(r, <f64>size);
  for (let want = walScanWant(r); want > 0; want = walScanWant(r)) walScanFeed(r, file + <usize>walScanPos(r), want);
  return walVerdict(r);
}

describe("prepare header", () => {
  it("seals and checks header and body checksums separately", () => {
    const file = makeFile(1, 0);
    const p = file + LOG;
    expect(prepareCheckHeader(p, 1 << 20)).toBe(PREPARE_OK);
    expect(prepareCheckBody(p)).toBe(PREPARE_OK);
    store<u8>(p + 280, load<u8>(p + 280) ^ 1);
    expect(prepareCheckBody(p)).toBe(PREPARE_BODY_CHECKSUM);
    store<u8>(p + 180, 9);
    expect(prepareCheckHeader(p, 1 << 20)).toBe(PREPARE_HEADER_CHECKSUM);
    heap.free(file);
  });
});

const r = heap.alloc(walRegionBytes(SLOTS));

function entryAt(file: usize, op: u32): usize {
  return file + LOG + (op - 1) * ENTRY;
}

describe("WAL boot decisions", () => {

  it("clean: every acknowledged op valid", () => {
    const file = makeFile(5, 5);
    expect(boot(r, file, LOG + 5 * ENTRY)).toBe(WAL_CLEAN);
    for (let op: u32 = 1; op <= 5; op++) expect(walSlotState(r, op % SLOTS)).toBe(SLOT_VALID);
    expect(walLastOp(r)).toBe(5);
    heap.free(file);
  });

  it("torn: a cut entry no slot header claims is truncated at its start", () => {
    const file = makeFile(5, 4);
    // Header complete, body cut: the op is known, so its slot is reported torn.
    expect(boot(r, file, LOG + 4 * ENTRY + 270)).toBe(WAL_TRUNCATE);
    expect(walStopAt(r)).toBe(<f64>(LOG + 4 * ENTRY));
    expect(walSlotState(r, 5)).toBe(SLOT_TORN);
    // Fewer than 256 bytes: nothing to name, still a torn tail.
    expect(boot(r, file, LOG + 4 * ENTRY + 100)).toBe(WAL_TRUNCATE);
    expect(walEnd(r)).toBe(<f64>(LOG + 4 * ENTRY));
    heap.free(file);
  });

  it("a complete unacknowledged entry is valid and its header needs writing", () => {
    const file = makeFile(5, 4);
    expect(boot(r, file, LOG + 5 * ENTRY)).toBe(WAL_CLEAN);
    expect(walSlotNeedsHeader(r, 5)).toBe(true);
    expect(walSlotNeedsHeader(r, 4)).toBe(false);
    heap.free(file);
  });

  it("corrupt: a damaged entry whose slot header proves it durable fails the boot", () => {
    const file = makeFile(5, 5);
    store<u8>(file + LOG + 4 * ENTRY + 290, 0xff);
    expect(boot(r, file, LOG + 5 * ENTRY)).toBe(WAL_FAIL);
    expect(walSlotState(r, 5)).toBe(SLOT_CORRUPT);
    heap.free(file);
  });

  it("missing: a slot header for an op the log does not hold fails the boot", () => {
    const file = makeFile(5, 5);
    expect(boot(r, file, LOG + 3 * ENTRY)).toBe(WAL_FAIL);
    expect(walSlotState(r, 4)).toBe(SLOT_MISSING);
    expect(walSlotState(r, 5)).toBe(SLOT_MISSING);
    heap.free(file);
  });

  it("a damaged header of an unacknowledged tail is still a torn tail", () => {
    const file = makeFile(5, 4);
    store<u8>(file + LOG + 4 * ENTRY + 10, 0x55);
    expect(boot(r, file, LOG + 5 * ENTRY)).toBe(WAL_TRUNCATE);
    heap.free(file);
  });

  it("append: order, parent chain and slot reuse are checked before any write", () => {
    const file = makeFile(10, 0);
    walInit(r, SLOTS, 1 << 20);
    expect(walAppend(r, entryAt(file, 2))).toBe(APPEND_OK); // the first op may be any
    expect(walAppend(r, entryAt(file, 4))).toBe(APPEND_OP_ORDER);
    store<u64>(entryAt(file, 3) + H_PARENT, 1);
    prepareSeal(entryAt(file, 3), ENTRY);
    expect(walAppend(r, entryAt(file, 3))).toBe(APPEND_PARENT);
    heap.free(file);
    const chain: usize = makeFile(10, 0);
    walInit(r, SLOTS, 1 << 20);
    for (let op: u32 = 1; op <= 8; op++) expect(walAppend(r, entryAt(chain, op))).toBe(APPEND_OK);
    walAppendDurable(r, 8);
    expect(walAppend(r, entryAt(chain, 9))).toBe(APPEND_SLOT_BUSY);
    walDrainCommit(r, 1);
    expect(walAppend(r, entryAt(chain, 9))).toBe(APPEND_OK);
    expect(walFind(r, 1)).toBe(-1);
    expect(walFind(r, 9)).toBe(1);
    expect(walEnd(r)).toBe(<f64>(LOG + 8 * ENTRY));
    heap.free(chain);
  });

  it("truncateFrom forgets a suffix and says where to cut the log", () => {
    const chain: usize = makeFile(8, 0);
    walInit(r, SLOTS, 1 << 20);
    for (let op: u32 = 1; op <= 8; op++) walAppend(r, entryAt(chain, op));
    walAppendDurable(r, 8);
    expect(walTruncateFrom(r, 9)).toBe(-1);
    expect(walTruncateFrom(r, 6)).toBe(<f64>(LOG + 5 * ENTRY));
    expect(walLastOp(r)).toBe(5);
    expect(walFind(r, 6)).toBe(-1);
    expect(walAppend(r, entryAt(chain, 6))).toBe(APPEND_OK);
    expect(walEnd(r)).toBe(<f64>(LOG + 6 * ENTRY));
    heap.free(chain);
  });

  it("the file header declares the slot count; any damage makes it invalid", () => {
    const h = heap.alloc(FH);
    walFileHeaderSeal(h, 1024, 1 << 20);
    expect(walFileHeaderSlots(h)).toBe(1024);
    store<u8>(h + 2000, 1);
    expect(walFileHeaderSlots(h)).toBe(0);
    heap.free(h);
  });
});

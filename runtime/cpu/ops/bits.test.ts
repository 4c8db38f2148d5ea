/**
 * BT BTS BTR BTC (register and memory bit strings), BSF BSR (incl. REP BSF on a CPU without
 * TZCNT), BSWAP, SETcc, CMOVcc, and the condition codes they share with Jcc
 * (SDM Vol. 2A "BT", "BSF", "BSR", "BSWAP", "CMOVcc"; Vol. 2B "SETcc", "TZCNT";
 * Vol. 1 Appendix B, condition codes).
 */
import { describe, expect, it } from 'vitest';
import { CODE, DATA, TestMachine, exec, fl } from '../testing.ts';
import { PFV, ZF } from '../constants.ts';

const ALL = fl('CF PF AF ZF SF OF');
const B = DATA + 0x100; // bit-string base, with room below for negative offsets

describe('BT family: CF = the bit, ZF not affected', () => {
  it('bt eax,ecx takes the offset modulo 32', () => {
    const m = exec('0f a3 c8', { eax: 2, ecx: 33, flags: fl('ZF') });
    expect(m.eax).toBe(2);
    expect(m.arith & fl('CF ZF')).toBe(fl('CF ZF'));
  });

  it('bt eax,35 takes the immediate modulo 32', () => {
    const m = exec('0f ba e0 23', { eax: 8 });
    expect(m.arith & fl('CF ZF')).toBe(fl('CF'));
  });

  it('bts eax,31 / btr eax,ecx / btc ax,17', () => {
    expect(exec('0f ba e8 1f', { eax: 0 }).eax).toBe(0x80000000);
    const r = exec('0f b3 c8', { eax: 0x1f, ecx: 4 });
    expect([r.eax, r.arith & fl('CF')]).toEqual([0x0f, fl('CF')]);
    const c = exec('66 0f ba f8 11', { eax: 0xffff0000, flags: fl('CF') });
    expect([c.eax, c.arith & fl('CF')]).toEqual([0xffff0002, 0]);
  });

  it('bt [mem],reg indexes a bit string: offset 35 is bit 3 of the next dword', () => {
    const m = exec('0f a3 0b', { ebx: B, ecx: 35 }, {}, (t) => t.write32(B + 4, 8));
    expect(m.arith & fl('CF')).toBe(fl('CF'));
  });

  it('bt [mem],reg with offset -1 is bit 31 of the dword below', () => {
    const m = exec('0f a3 0b', { ebx: B, ecx: -1 }, {}, (t) => t.write32(B - 4, 0x80000000));
    expect(m.arith & fl('CF')).toBe(fl('CF'));
  });

  it('bts [mem],reg offset 100 sets bit 4 of [ebx+12]', () => {
    const m = exec('0f ab 0b', { ebx: B, ecx: 100 }, {}, (t) => t.write32(B + 12, 0x01));
    expect(m.read32(B + 12)).toBe(0x11);
    expect(m.arith & fl('CF')).toBe(0);
  });

  it('btr [mem],reg offset -33 clears bit 31 of [ebx-8]', () => {
    const m = exec('0f b3 0b', { ebx: B, ecx: -33 }, {}, (t) => t.write32(B - 8, 0xffffffff));
    expect(m.read32(B - 8)).toBe(0x7fffffff);
    expect(m.arith & fl('CF')).toBe(fl('CF'));
  });

  it('btc [mem],reg reaches 1 MiB away', () => {
    const m = exec('0f bb 0b', { ebx: B, ecx: 0x100000 * 8 + 2 }, {}, (t) => t.write32(B + 0x100000, 0xff));
    expect(m.read32(B + 0x100000)).toBe(0xfb);
    expect(m.read32(B)).toBe(0);
  });

  it('lock bts [mem],reg', () => {
    const m = exec('f0 0f ab 0b', { ebx: B, ecx: 0 });
    expect(m.completed).toBe(true);
    expect(m.read32(B)).toBe(1);
  });

  it('bt [mem],imm takes the immediate modulo 32 (no bit-string addressing)', () => {
    const m = exec('0f ba 23 23', { ebx: B }, {}, (t) => {
      t.write32(B, 8);
      t.write32(B + 4, 0);
    });
    expect(m.arith & fl('CF')).toBe(fl('CF'));
  });

  it('bt word [mem],cx: a 16-bit offset is signed (-1 = bit 15 of the word below)', () => {
    const m = exec('66 0f a3 0b', { ebx: B, ecx: 0x1234ffff }, {}, (t) => t.write16(B - 2, 0x8000));
    expect(m.arith & fl('CF')).toBe(fl('CF'));
  });
});

describe('BSF / BSR: ZF = (source is 0); the destination is undefined then', () => {
  const cases: [string, string, number, number][] = [
    ['bsf', '0f bc c3', 0x80000000, 31],
    ['bsf', '0f bc c3', 0x00000100, 8],
    ['bsf', '0f bc c3', 0x80000001, 0],
    ['bsr', '0f bd c3', 1, 0],
    ['bsr', '0f bd c3', 0xffffffff, 31],
    ['bsr', '0f bd c3', 0x00010000, 16],
  ];
  for (const [name, code, src, want] of cases) {
    it(`${name} ${src.toString(16)} = ${want}`, () => {
      const m = exec(code, { ebx: src, eax: 0xdead, flags: fl('ZF') });
      expect(m.eax).toBe(want);
      expect(m.flags & ZF).toBe(0);
    });
  }

  it('bsf/bsr of 0 set ZF', () => {
    expect(exec('0f bc c3', { ebx: 0 }).flags & ZF).toBe(ZF);
    expect(exec('0f bd c3', { ebx: 0 }).flags & ZF).toBe(ZF);
  });

  it('bsf ax,bx looks at BX only and keeps the upper half of EAX', () => {
    expect(exec('66 0f bc c3', { ebx: 0x00010000 }).flags & ZF).toBe(ZF);
    const m = exec('66 0f bc c3', { ebx: 0xffff0100, eax: 0x12340000 });
    expect(m.eax).toBe(0x12340008);
  });

  it('rep bsf is BSF on a processor without TZCNT (bit 0 set: result 0, ZF clear)', () => {
    const m = exec('f3 0f bc c3', { ebx: 1, eax: 0xdead });
    expect(m.eax).toBe(0);
    expect(m.flags & ZF).toBe(0);
  });

  it('bsf eax,[ebx]', () => {
    const m = exec('0f bc 03', { ebx: DATA }, {}, (t) => t.write32(DATA, 0x00400000));
    expect(m.eax).toBe(22);
  });
});

describe('BSWAP', () => {
  it('reverses the bytes of a register', () => {
    expect(exec('0f c8', { eax: 0x12345678 }).eax).toBe(0x78563412);
    expect(exec('0f ce', { esi: 0x80000001 }).esi).toBe(0x01000080);
  });
});

/** Condition cc from individual flags (SDM Vol. 1 Appendix B, Table B-1). */
function condition(cc: number, f: number): boolean {
  const cf = (f & fl('CF')) !== 0, zf = (f & fl('ZF')) !== 0, sf = (f & fl('SF')) !== 0, of = (f & fl('OF')) !== 0, pf = (f & fl('PF')) !== 0;
  const base = [of, cf, zf, cf || zf, sf, pf, sf !== of, zf || sf !== of][cc >> 1]!;
  return cc & 1 ? !base : base;
}

describe('SETcc over every condition', () => {
  it('all 16 conditions × all 32 combinations of CF PF ZF SF OF', () => {
    const m = new TestMachine();
    for (let cc = 0; cc < 16; cc++) m.load(CODE + cc * 8, `0f ${(0x90 + cc).toString(16)} c0 cc`);
    const bits = [fl('CF'), fl('PF'), fl('ZF'), fl('SF'), fl('OF')];
    for (let combo = 0; combo < 32; combo++) {
      const f = bits.reduce((a, b, k) => (combo & (1 << k) ? a | b : a), 0);
      for (let cc = 0; cc < 16; cc++) {
        m.set({ eip: CODE + cc * 8, flags: f, eax: 0x55 }).run();
        expect(m.eax, `set cc=${cc} flags=${f.toString(16)}`).toBe(condition(cc, f) ? 1 : 0);
      }
    }
  });

  it('after CMP: each condition is the relation it names', () => {
    const values = [0, 1, 2, 0x7fffffff, 0x80000000, 0x80000001, 0xfffffffe, 0xffffffff, 0x12345678];
    const m = new TestMachine();
    // cmp eax,ebx; setcc cl; int3 — the CPU keeps CMP's flags lazily, so this exercises that path.
    for (let cc = 0; cc < 16; cc++) m.load(CODE + cc * 8, `39 d8 0f ${(0x90 + cc).toString(16)} c1 cc`);
    for (const a of values) {
      for (const b of values) {
        const diff = (a - b) >>> 0;
        const sa = a | 0, sb = b | 0;
        const overflow = sa - sb !== (diff | 0);
        let parity = 0;
        for (let k = 0; k < 8; k++) parity ^= (diff >> k) & 1;
        const rel = [overflow, a < b, a === b, a <= b, diff >= 0x80000000, parity === 0, sa < sb, sa <= sb];
        for (let cc = 0; cc < 16; cc++) {
          m.set({ eip: CODE + cc * 8, eax: a, ebx: b, ecx: 0x77 }).run();
          const want = cc & 1 ? !rel[cc >> 1] : rel[cc >> 1];
          expect(m.ecx, `cmp ${a.toString(16)},${b.toString(16)}; set cc=${cc}`).toBe(want ? 1 : 0);
        }
      }
    }
  });

  it('after an 8-bit CMP: signed and unsigned relations of the bytes', () => {
    const m = new TestMachine();
    // cmp al,bl; setl cl; setb ch; int3
    m.load(CODE, '38 d8 0f 9c c1 0f 92 c5 cc');
    for (const [a, b] of [[0x80, 0x7f], [0x7f, 0x80], [0x01, 0xff], [0xff, 0x01], [0x10, 0x10]] as const) {
      m.set({ eip: CODE, eax: 0xffffff00 | a, ebx: b, ecx: 0 }).run();
      const less = ((a << 24) >> 24) < ((b << 24) >> 24);
      expect(m.ecx, `cmp ${a},${b}`).toBe((less ? 1 : 0) | ((a < b ? 1 : 0) << 8));
    }
  });

  it('setne [mem], setl ah, setg cl', () => {
    const m = exec('0f 95 03', { ebx: DATA, flags: fl('ZF') }, {}, (t) => t.write32(DATA, 0xffffffff));
    expect(m.read32(DATA)).toBe(0xffffff00);
    expect(exec('0f 9c c4', { eax: 0x11223344, flags: fl('SF') }).eax).toBe(0x11220144);
    expect(exec('0f 9f c1', { ecx: 0xffffffff, flags: fl('SF OF') }).ecx).toBe(0xffffff01);
  });
});

describe('CMOVcc', () => {
  it('moves only when the condition holds', () => {
    expect(exec('0f 44 c3', { eax: 1, ebx: 2, flags: fl('ZF') }).eax).toBe(2);
    expect(exec('0f 44 c3', { eax: 1, ebx: 2 }).eax).toBe(1);
    expect(exec('0f 42 c3', { eax: 1, ebx: 2, flags: fl('CF') }).eax).toBe(2);
  });

  it('cmova ax,bx keeps the upper half', () => {
    expect(exec('66 0f 47 c3', { eax: 0x11112222, ebx: 0x3333 }).eax).toBe(0x11113333);
  });

  it('cmovne eax,[ebx] moves from memory and changes no flag', () => {
    const m = exec('0f 45 03', { eax: 1, ebx: DATA, flags: ALL & ~ZF }, {}, (t) => t.write32(DATA, 0xabcdef));
    expect(m.eax).toBe(0xabcdef);
    expect(m.arith).toBe(ALL & ~ZF);
  });

  it('reads a memory source even when the condition is false (a not-present page faults)', () => {
    const m = exec('0f 45 03', { eax: 1, ebx: 0x800000 - 0x1000 + 0x10, flags: fl('ZF') }, {}, (t) => t.setPte(0x7ff000, 0));
    expect(m.trap).toMatchObject({ vector: PFV, faultEip: CODE, cr2: 0x7ff010 });
    expect(m.eax).toBe(1);
  });
});

/**
 * SHL SHR SAR, ROL ROR RCL RCR, SHLD SHRD with counts 0, 1 and more, and their flags
 * (SDM Vol. 2B "SAL/SAR/SHL/SHR", "RCL/RCR/ROL/ROR", "SHLD", "SHRD": operation pseudo-code and
 * "Flags Affected"). Flags the SDM calls undefined for a case are listed in `undef` and masked.
 */
import { describe, expect, it } from 'vitest';
import { DATA, exec, fl, type Reg, type Setup } from '../testing.ts';
import { ARITH } from '../constants.ts';

interface Case {
  name: string;
  code: string;
  setup: Setup;
  expect: Partial<Record<Reg, number>>;
  flags: string;
  undef?: string;
}

const ALL = fl('CF PF AF ZF SF OF');

const cases: Case[] = [
  // Shifts. Count masked to 5 bits; a masked count of 0 changes nothing, flags included.
  { name: 'shl by 0 changes no flag', code: 'c1 e0 00', setup: { eax: 0x80000001, flags: ALL }, expect: { eax: 0x80000001 }, flags: 'CF PF AF ZF SF OF' },
  { name: 'shl by cl=32 is a count of 0', code: 'd3 e0', setup: { eax: 0x80000001, ecx: 32, flags: fl('CF ZF') }, expect: { eax: 0x80000001 }, flags: 'CF ZF' },
  { name: 'shl by cl=33 is a count of 1', code: 'd3 e0', setup: { eax: 0x80000001, ecx: 33 }, expect: { eax: 2 }, flags: 'CF OF', undef: 'AF' },
  { name: 'shl 80000000 by 1: CF out, OF = MSB ^ CF', code: 'd1 e0', setup: { eax: 0x80000000 }, expect: { eax: 0 }, flags: 'CF PF ZF OF', undef: 'AF' },
  { name: 'shl 40000000 by 1: sign change sets OF', code: 'd1 e0', setup: { eax: 0x40000000 }, expect: { eax: 0x80000000 }, flags: 'PF SF OF', undef: 'AF' },
  { name: 'shl by 4: CF is the last bit out', code: 'c1 e0 04', setup: { eax: 0x12345678 }, expect: { eax: 0x23456780 }, flags: 'CF', undef: 'AF OF' },
  { name: 'shr by 1: OF = MSB of the original', code: 'd1 e8', setup: { eax: 0x80000001 }, expect: { eax: 0x40000000 }, flags: 'CF PF OF', undef: 'AF' },
  { name: 'sar by 1: OF = 0, sign kept', code: 'd1 f8', setup: { eax: 0x80000001, flags: fl('OF') }, expect: { eax: 0xc0000000 }, flags: 'CF PF SF', undef: 'AF' },
  { name: 'shl al by 9 (beyond the width): zero', code: 'c0 e0 09', setup: { eax: 0xabcdef01 }, expect: { eax: 0xabcdef00 }, flags: 'PF ZF', undef: 'CF OF AF' },
  { name: 'shl al by 2', code: 'c0 e0 02', setup: { eax: 0x41 }, expect: { eax: 0x04 }, flags: 'CF', undef: 'OF AF' },
  { name: 'sar al by 9 fills with the sign, CF = sign', code: 'c0 f8 09', setup: { eax: 0x80 }, expect: { eax: 0xff }, flags: 'CF PF SF', undef: 'OF AF' },
  { name: 'sar al by cl=31 of a positive byte', code: 'd2 f8', setup: { eax: 0x40, ecx: 31, flags: fl('CF') }, expect: { eax: 0 }, flags: 'PF ZF', undef: 'OF AF' },
  { name: 'shr ax by 3 keeps the upper half', code: '66 c1 e8 03', setup: { eax: 0x5555000f }, expect: { eax: 0x55550001 }, flags: 'CF', undef: 'OF AF' },
  { name: 'shr al by 8 (= width): zero', code: 'c0 e8 08', setup: { eax: 0xff }, expect: { eax: 0 }, flags: 'PF ZF', undef: 'CF OF AF' },
  { name: 'sar by cl=0 changes no flag', code: 'd3 f8', setup: { eax: 0x80000000, ecx: 0, flags: fl('ZF PF') }, expect: { eax: 0x80000000 }, flags: 'ZF PF' },
  // ROL/ROR: only CF (and OF for a count of 1) change; SF ZF AF PF are not affected.
  { name: 'rol by 1 keeps SF ZF AF PF', code: 'd1 c0', setup: { eax: 1, flags: fl('ZF PF SF AF CF OF') }, expect: { eax: 2 }, flags: 'ZF PF SF AF' },
  { name: 'rol 80000000 by 1: CF = LSB, OF = MSB ^ CF', code: 'd1 c0', setup: { eax: 0x80000000 }, expect: { eax: 1 }, flags: 'CF OF' },
  { name: 'rol al by 8: no movement, CF = LSB', code: 'c0 c0 08', setup: { eax: 0x01 }, expect: { eax: 0x01 }, flags: 'CF', undef: 'OF' },
  { name: 'rol al by cl=8 of 80h clears CF', code: 'd2 c0', setup: { eax: 0x80, ecx: 8, flags: fl('CF') }, expect: { eax: 0x80 }, flags: '', undef: 'OF' },
  { name: 'ror 1 by 1: CF = MSB, OF = top two bits differ', code: 'd1 c8', setup: { eax: 1 }, expect: { eax: 0x80000000 }, flags: 'CF OF' },
  { name: 'ror al by 3', code: 'c0 c8 03', setup: { eax: 0x0e }, expect: { eax: 0xc1 }, flags: 'CF', undef: 'OF' },
  { name: 'rol ax by 16: no movement, CF = LSB', code: '66 c1 c0 10', setup: { eax: 0x12348001 }, expect: { eax: 0x12348001 }, flags: 'CF', undef: 'OF' },
  { name: 'ror ax by 1 keeps the upper half', code: '66 d1 c8', setup: { eax: 0x12340001 }, expect: { eax: 0x12348000 }, flags: 'CF OF' },
  // RCL/RCR rotate through CF: 9 bits for bytes, 17 for words (count mod 9 / mod 17).
  { name: 'rcl by 1 with CF in', code: 'd1 d0', setup: { eax: 0x80000000, flags: fl('CF') }, expect: { eax: 1 }, flags: 'CF OF' },
  { name: 'rcl 40000000 by 1', code: 'd1 d0', setup: { eax: 0x40000000 }, expect: { eax: 0x80000000 }, flags: 'OF' },
  { name: 'rcl al by 9 (mod 9 = 0): nothing moves, CF kept', code: 'c0 d0 09', setup: { eax: 0x55, flags: fl('CF') }, expect: { eax: 0x55 }, flags: 'CF', undef: 'OF' },
  { name: 'rcl al by 2 with CF in', code: 'c0 d0 02', setup: { eax: 0x80, flags: fl('CF') }, expect: { eax: 0x03 }, flags: '', undef: 'OF' },
  { name: 'rcr al by 1 with CF in: OF = MSB ^ CF before', code: 'd0 d8', setup: { eax: 0x01, flags: fl('CF') }, expect: { eax: 0x80 }, flags: 'CF OF' },
  { name: 'rcr ax by 17 (mod 17 = 0): nothing moves', code: '66 c1 d8 11', setup: { eax: 0x1234abcd }, expect: { eax: 0x1234abcd }, flags: '', undef: 'OF' },
  { name: 'rcr eax by 2', code: 'c1 d8 02', setup: { eax: 3 }, expect: { eax: 0x80000000 }, flags: 'CF', undef: 'OF' },
  { name: 'rcl by cl=0 changes no flag', code: 'd3 d0', setup: { eax: 5, ecx: 0, flags: fl('CF OF') }, expect: { eax: 5 }, flags: 'CF OF' },
  { name: 'rcl by cl=32 (masked to 0) changes no flag', code: 'd3 d0', setup: { eax: 5, ecx: 32, flags: fl('CF') }, expect: { eax: 5 }, flags: 'CF' },
  // SHLD/SHRD: CF = last bit shifted out of DEST; OF for a count of 1 only; AF undefined.
  { name: 'shld by 4', code: '0f a4 d8 04', setup: { eax: 0x12345678, ebx: 0x9abcdef0 }, expect: { eax: 0x23456789, ebx: 0x9abcdef0 }, flags: 'CF', undef: 'OF AF' },
  { name: 'shld by 1: sign change sets OF', code: '0f a4 d8 01', setup: { eax: 0x40000000, ebx: 0x80000000 }, expect: { eax: 0x80000001 }, flags: 'SF OF', undef: 'AF' },
  { name: 'shld by cl=0 changes nothing', code: '0f a5 d8', setup: { eax: 0x12345678, ebx: 0xffffffff, ecx: 0, flags: ALL }, expect: { eax: 0x12345678 }, flags: 'CF PF AF ZF SF OF' },
  { name: 'shld by cl=32 (masked to 0) changes nothing', code: '0f a5 d8', setup: { eax: 0x12345678, ebx: 0xffffffff, ecx: 32 }, expect: { eax: 0x12345678 }, flags: '' },
  { name: 'shrd by 8', code: '0f ac d8 08', setup: { eax: 0x12345678, ebx: 0x9abcdef0 }, expect: { eax: 0xf0123456 }, flags: 'PF SF', undef: 'OF AF' },
  { name: 'shrd by cl=4', code: '0f ad d8', setup: { eax: 0x12345678, ebx: 5, ecx: 4 }, expect: { eax: 0x51234567 }, flags: 'CF', undef: 'OF AF' },
  { name: 'shld ax,bx,4 keeps the upper half', code: '66 0f a4 d8 04', setup: { eax: 0x55551234, ebx: 0xabcd }, expect: { eax: 0x5555234a }, flags: 'CF', undef: 'OF AF' },
  { name: 'shrd ax,bx,4', code: '66 0f ac d8 04', setup: { eax: 0x1234, ebx: 0xabcd }, expect: { eax: 0xd123 }, flags: 'SF', undef: 'OF AF' },
  { name: 'shld ax,bx,16 (count = width): DEST = SRC, CF = bit 0', code: '66 0f a4 d8 10', setup: { eax: 0x1235, ebx: 0xabcd }, expect: { eax: 0xabcd }, flags: 'CF SF', undef: 'OF AF' },
  { name: 'shrd ax,bx,16 (count = width): DEST = SRC, CF = bit 15', code: '66 0f ac d8 10', setup: { eax: 0x8000, ebx: 0x0103 }, expect: { eax: 0x0103 }, flags: 'CF PF', undef: 'OF AF' },
];

describe('shifts and rotates, register forms', () => {
  for (const c of cases) {
    it(c.name, () => {
      const m = exec(c.code, c.setup);
      expect(m.completed).toBe(true);
      for (const [r, v] of Object.entries(c.expect)) expect(m.reg(r as Reg), r).toBe(v >>> 0);
      const mask = ARITH & ~fl(c.undef ?? '');
      expect(m.arith & mask).toBe(fl(c.flags) & mask);
    });
  }
});

describe('shifts and rotates, memory forms', () => {
  it('shl dword [ebx],1', () => {
    const m = exec('d1 23', { ebx: DATA }, {}, (t) => t.write32(DATA, 0x80000001));
    expect(m.read32(DATA)).toBe(2);
    expect(m.arith & ~fl('AF')).toBe(fl('CF OF'));
  });

  it('rcr dword [ebx],cl: ZF is not affected by a rotate', () => {
    const m = exec('d3 1b', { ebx: DATA, ecx: 1 }, {}, (t) => t.write32(DATA, 1));
    expect(m.read32(DATA)).toBe(0);
    expect(m.arith).toBe(fl('CF'));
  });

  it('shld dword [ebx],eax,8', () => {
    const m = exec('0f a4 03 08', { ebx: DATA, eax: 0xaabbccdd }, {}, (t) => t.write32(DATA, 0x11223344));
    expect(m.read32(DATA)).toBe(0x223344aa);
    expect(m.arith & ~fl('OF AF')).toBe(fl('CF PF'));
  });
});

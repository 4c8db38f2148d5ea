/**
 * MOVS CMPS STOS LODS SCAS INS OUTS with REP/REPE/REPNE, DF and ECX = 0 (SDM Vol. 2B
 * "REP/REPE/REPZ/REPNE/REPNZ": the count is tested before each iteration; each iteration
 * updates ECX, ESI, EDI, so an interrupted or faulting REP is restartable).
 */
import { describe, expect, it } from 'vitest';
import { CODE, DATA, exec, fl, type TestMachine } from '../testing.ts';
import { FS, GP, PFV } from '../constants.ts';

const SRC = DATA;
const DST = DATA + 0x1000;
const text = (t: TestMachine, at: number, s: string): void => t.writeBytes(at, new TextEncoder().encode(s));
const bytes = (m: TestMachine, at: number, n: number): string => Buffer.from(m.readBytes(at, n)).toString('latin1');

describe('single string operations', () => {
  it('movsb moves one byte and steps ESI/EDI by 1, or by -1 with DF', () => {
    const up = exec('a4', { esi: SRC, edi: DST }, {}, (t) => text(t, SRC, 'x'));
    expect([bytes(up, DST, 1), up.esi, up.edi]).toEqual(['x', SRC + 1, DST + 1]);
    const down = exec('a4', { esi: SRC, edi: DST, flags: fl('DF') }, {}, (t) => text(t, SRC, 'y'));
    expect([bytes(down, DST, 1), down.esi, down.edi]).toEqual(['y', SRC - 1, DST - 1]);
  });

  it('movsd/movsw step by 4/2; lodsd loads EAX; stosw stores AX', () => {
    // DF = 1: movsd copies [SRC..SRC+3], then movsw copies [SRC-4..SRC-3].
    const m = exec(['a5', '66 a5'], { esi: SRC, edi: DST, flags: fl('DF') }, {}, (t) => text(t, SRC - 4, 'abcdEFGH'));
    expect([m.esi, m.edi]).toEqual([SRC - 6, DST - 6]);
    expect(bytes(m, DST - 4, 8)).toBe('ab\0\0EFGH');
    const l = exec('ad', { esi: SRC }, {}, (t) => t.write32(SRC, 0xcafebabe));
    expect([l.eax, l.esi]).toEqual([0xcafebabe, SRC + 4]);
    const s = exec('66 ab', { edi: DST, eax: 0x12345678 });
    expect([s.read32(DST), s.edi]).toEqual([0x5678, DST + 2]);
  });

  it('cmpsd and scasd set flags as CMP [ESI],[EDI] and CMP EAX,[EDI]', () => {
    const c = exec('a7', { esi: SRC, edi: DST }, {}, (t) => {
      t.write32(SRC, 3);
      t.write32(DST, 5);
    });
    expect(c.arith).toBe(fl('CF AF SF'));
    const s = exec('af', { eax: 5, edi: DST }, {}, (t) => t.write32(DST, 5));
    expect(s.arith).toBe(fl('PF ZF'));
    expect(s.edi).toBe(DST + 4);
  });
});

describe('REP', () => {
  it('rep movsd copies ECX dwords', () => {
    const m = exec('f3 a5', { esi: SRC, edi: DST, ecx: 4 }, {}, (t) => text(t, SRC, '0123456789abcdefXXXX'));
    expect(bytes(m, DST, 20)).toBe('0123456789abcdef\0\0\0\0');
    expect([m.ecx, m.esi, m.edi]).toEqual([0, SRC + 16, DST + 16]);
  });

  it('ECX = 0: no iteration, no memory access, registers and flags unchanged', () => {
    // ESI and EDI point at the not-present page 0: any access would fault.
    for (const code of ['f3 a4', 'f3 ab', 'f3 a6', 'f2 ae', 'f3 ac']) {
      const m = exec(code, { esi: 0x10, edi: 0x20, ecx: 0, flags: fl('ZF CF') });
      expect(m.completed, code).toBe(true);
      expect([m.ecx, m.esi, m.edi, m.arith], code).toEqual([0, 0x10, 0x20, fl('ZF CF')]);
    }
  });

  it('rep stosb with DF = 1 fills downwards', () => {
    const m = exec('f3 aa', { edi: DST + 10, ecx: 3, eax: 0x5a, flags: fl('DF') });
    expect(bytes(m, DST + 7, 5)).toBe('\0ZZZ\0');
    expect([m.edi, m.ecx]).toEqual([DST + 7, 0]);
  });

  it('rep movsb is element by element: an overlapping forward copy propagates', () => {
    const m = exec('f3 a4', { esi: SRC, edi: SRC + 1, ecx: 7 }, {}, (t) => text(t, SRC, 'A.......'));
    expect(bytes(m, SRC, 8)).toBe('AAAAAAAA');
  });

  it('rep movsd with DF = 1 copies an overlapping block upwards intact (memmove)', () => {
    const m = exec('f3 a5', { esi: SRC + 12, edi: SRC + 16, ecx: 4, flags: fl('DF') }, {}, (t) => text(t, SRC, 'aaaabbbbccccdddd'));
    expect(bytes(m, SRC + 4, 16)).toBe('aaaabbbbccccdddd');
  });

  it('rep lodsb leaves the last byte in AL', () => {
    const m = exec('f3 ac', { esi: SRC, ecx: 3, eax: 0xffffffff }, {}, (t) => text(t, SRC, 'xyz'));
    expect([m.eax, m.esi]).toEqual([0xffffff7a, SRC + 3]);
  });

  it('a long rep stosb (beyond any internal chunk) completes', () => {
    const m = exec('f3 aa', { edi: DST, ecx: 40000, eax: 0x11 });
    expect(m.completed).toBe(true);
    expect([m.ecx, m.edi]).toEqual([0, DST + 40000]);
    expect(m.readBytes(DST, 40001).reduce((a, b) => a + b, 0)).toBe(40000 * 0x11);
  });

  it('rep movsb with an FS override reads FS:ESI and still writes ES:EDI', () => {
    const m = exec('64 f3 a4', { esi: 0x10, edi: DST, ecx: 4 }, {}, (t) => {
      t.cpu.setSegment(FS, 0x33, SRC);
      text(t, SRC + 0x10, 'fsfs');
    });
    expect(bytes(m, DST, 4)).toBe('fsfs');
  });

  it('rep movsw with an operand-size prefix', () => {
    const m = exec('66 f3 a5', { esi: SRC, edi: DST, ecx: 3 }, {}, (t) => text(t, SRC, 'abcdefgh'));
    expect(bytes(m, DST, 8)).toBe('abcdef\0\0');
    expect(m.esi).toBe(SRC + 6);
  });
});

describe('REPE / REPNE', () => {
  it('repe cmpsb stops at the first difference, with that comparison\'s flags', () => {
    const m = exec('f3 a6', { esi: SRC, edi: DST, ecx: 5 }, {}, (t) => {
      text(t, SRC, 'abcXe');
      text(t, DST, 'abcYe');
    });
    expect([m.ecx, m.esi, m.edi]).toEqual([1, SRC + 4, DST + 4]);
    expect(m.arith).toBe(fl('CF PF AF SF'));
  });

  it('repe cmpsb over equal strings runs ECX out with ZF = 1', () => {
    const m = exec('f3 a6', { esi: SRC, edi: DST, ecx: 3 }, {}, (t) => {
      text(t, SRC, 'abc');
      text(t, DST, 'abc');
    });
    expect(m.ecx).toBe(0);
    expect(m.arith & fl('ZF')).toBe(fl('ZF'));
  });

  it('repne scasb finds a byte (the strlen idiom)', () => {
    const m = exec('f2 ae', { edi: DST, ecx: 0xffffffff, eax: 0 }, {}, (t) => text(t, DST, 'hello\0'));
    expect([m.ecx, m.edi]).toEqual([0xfffffff9, DST + 6]);
    expect(~m.ecx - 1).toBe(5);
    expect(m.arith & fl('ZF')).toBe(fl('ZF'));
  });

  it('repne scasb runs ECX out when the byte is absent', () => {
    const m = exec('f2 ae', { edi: DST, ecx: 3, eax: 0x7a }, {}, (t) => text(t, DST, 'abcz'));
    expect([m.ecx, m.edi]).toEqual([0, DST + 3]);
    expect(m.arith & fl('ZF')).toBe(0);
  });

  it('repe scasd stops at the first dword that differs from EAX', () => {
    const m = exec('f3 af', { edi: DST, ecx: 8, eax: 7 }, {}, (t) => {
      t.write32(DST, 7);
      t.write32(DST + 4, 7);
      t.write32(DST + 8, 8);
    });
    expect([m.ecx, m.edi]).toEqual([5, DST + 12]);
  });
});

describe('a faulting REP is restartable', () => {
  it('rep movsb into a not-present page stops at the page with ECX/ESI/EDI counted, then resumes', () => {
    const dst = 0x400ff0;
    const m = exec('f3 a4', { esi: SRC, edi: dst, ecx: 32 }, {}, (t) => {
      text(t, SRC, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ012345');
      t.setPte(0x401000, 0);
    });
    expect(m.trap).toMatchObject({ vector: PFV, errorCode: 2, faultEip: CODE, eip: CODE, cr2: 0x401000 });
    expect([m.ecx, m.esi, m.edi]).toEqual([16, SRC + 16, 0x401000]);
    expect(bytes(m, dst, 16)).toBe('ABCDEFGHIJKLMNOP');
    // The embedder maps the page and resumes at the same instruction.
    m.map(0x401000, 0x401000);
    m.run();
    expect(m.completed).toBe(true);
    expect(m.ecx).toBe(0);
    expect(bytes(m, dst, 32)).toBe('ABCDEFGHIJKLMNOPQRSTUVWXYZ012345');
  });
});

describe('INS / OUTS', () => {
  it('rep insb reads the port ECX times into ES:EDI', () => {
    const m = exec('f3 6c', { edx: 0x3f8, edi: DST, ecx: 3 }, {}, (t) => {
      t.portValue = 0x41;
    });
    expect(bytes(m, DST, 4)).toBe('AAA\0');
    expect(m.ports.map((p) => [p.port, p.size, p.write])).toEqual([[0x3f8, 8, false], [0x3f8, 8, false], [0x3f8, 8, false]]);
  });

  it('rep outsb writes DS:ESI to the port', () => {
    const m = exec('f3 6e', { edx: 0xe9, esi: SRC, ecx: 2 }, {}, (t) => text(t, SRC, 'hi'));
    expect(m.ports).toEqual([{ port: 0xe9, size: 8, write: true, value: 0x68 }, { port: 0xe9, size: 8, write: true, value: 0x69 }]);
  });

  it('ins/outs in ring 3 with IOPL 0 are #GP(0), nothing transferred', () => {
    for (const code of ['6c', '6e', 'f3 6c']) {
      const m = exec(code, { cpl: 3, edx: 0x80, edi: DST, esi: SRC, ecx: 2 });
      expect(m.trap, code).toMatchObject({ vector: GP, errorCode: 0, faultEip: CODE });
      expect([m.ports.length, m.edi, m.esi], code).toEqual([0, DST, SRC]);
    }
  });
});

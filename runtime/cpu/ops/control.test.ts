/**
 * Control transfer: Jcc, JMP, CALL, RET, LOOP/LOOPE/LOOPNE, JECXZ, indirect forms, INT n, INT3,
 * INTO, INT1, HLT, BOUND (SDM Vol. 2). Software interrupts are traps: the embedder sees them
 * with EIP already past the instruction; faults leave EIP at the instruction.
 */
import { describe, expect, it } from 'vitest';
import { CODE, DATA, STACK_TOP, exec, fl } from '../testing.ts';
import { BP, BR, GP, OFV, UD } from '../constants.ts';

describe('Jcc and JMP', () => {
  // jcc +5 over "mov eax,1" to the INT3 at the end: EAX = 0 when taken.
  it('jz rel8 taken and not taken', () => {
    expect(exec('74 05 b8 01 00 00 00', { flags: fl('ZF') }).eax).toBe(0);
    expect(exec('74 05 b8 01 00 00 00', {}).eax).toBe(1);
  });

  it('jz rel32', () => {
    expect(exec('0f 84 05 00 00 00 b8 01 00 00 00', { flags: fl('ZF') }).eax).toBe(0);
    expect(exec('0f 84 05 00 00 00 b8 01 00 00 00', {}).eax).toBe(1);
  });

  it('a backward jnz loop', () => {
    const m = exec('49 75 fd', { ecx: 5 });
    expect(m.ecx).toBe(0);
    expect(m.cpu.icount).toBe(11);
  });

  it('jmp rel8 forward', () => {
    expect(exec('eb 05 b8 01 00 00 00', {}).eax).toBe(0);
  });

  it('jmp eax and jmp [ebx+4]', () => {
    expect(exec('ff e0 b8 01 00 00 00', { eax: CODE + 7 }).eax).toBe(CODE + 7);
    const m = exec('ff 63 04 b8 01 00 00 00', { ebx: DATA }, {}, (t) => t.write32(DATA + 4, CODE + 8));
    expect(m.completed).toBe(true);
    expect(m.eax).toBe(0);
  });

  it('jmp word [ebx] (16-bit operand size) clears the upper half of EIP', () => {
    const m = exec('66 ff 23', { ebx: DATA }, {}, (t) => {
      t.write32(DATA, 0xffff2000);
      t.load(0x2000, 'cc');
    });
    expect(m.trap).toMatchObject({ vector: BP, faultEip: 0x2000 });
  });
});

describe('CALL and RET', () => {
  // 0: call 0c; 5: add eax,100h; a: jmp 13; c: mov eax,1; 11: ret; 12: nop; 13: int3
  const prog = 'e8 07 00 00 00 05 00 01 00 00 eb 07 b8 01 00 00 00 c3 90';

  it('call pushes the return address; ret pops it', () => {
    const m = exec(prog, {});
    expect(m.completed).toBe(true);
    expect(m.eax).toBe(0x101);
    expect(m.esp).toBe(STACK_TOP);
    expect(m.read32(STACK_TOP - 4)).toBe(CODE + 5);
  });

  it('ret imm16 releases the arguments', () => {
    // push 1; push 2; call f; jmp end; f: ret 8; end
    const m = exec('6a 01 6a 02 e8 02 00 00 00 eb 03 c2 08 00', {});
    expect(m.completed).toBe(true);
    expect(m.esp).toBe(STACK_TOP);
  });

  it('call eax and call [ebx]', () => {
    // call eax → "ret" at CODE+9; then call [ebx] → same; then the INT3.
    const m = exec('ff d0 ff 13 eb 04 90 90 90 c3', { eax: CODE + 9, ebx: DATA }, {}, (t) => t.write32(DATA, CODE + 9));
    expect(m.completed).toBe(true);
    expect(m.read32(STACK_TOP - 4)).toBe(CODE + 4);
  });
});

describe('LOOP, LOOPE, LOOPNE, JECXZ', () => {
  it('loop decrements ECX and jumps while it is not zero', () => {
    const m = exec('e2 fe', { ecx: 10, flags: fl('ZF') });
    expect(m.ecx).toBe(0);
    expect(m.cpu.icount).toBe(11);
    expect(m.arith).toBe(fl('ZF')); // LOOP changes no flag
  });

  it('loope continues while ZF = 1', () => {
    expect(exec('39 d8 e1 fc', { eax: 1, ebx: 1, ecx: 3 }).ecx).toBe(0);
    expect(exec('39 d8 e1 fc', { eax: 1, ebx: 2, ecx: 3 }).ecx).toBe(2);
  });

  it('loopne continues while ZF = 0', () => {
    expect(exec('39 d8 e0 fc', { eax: 1, ebx: 2, ecx: 3 }).ecx).toBe(0);
    expect(exec('39 d8 e0 fc', { eax: 1, ebx: 1, ecx: 3 }).ecx).toBe(2);
  });

  it('jecxz tests all of ECX', () => {
    expect(exec('e3 05 b8 01 00 00 00', { ecx: 0 }).eax).toBe(0);
    expect(exec('e3 05 b8 01 00 00 00', { ecx: 0x10000 }).eax).toBe(1);
  });
});

describe('software interrupts are traps', () => {
  it('int 80h: vector 80h, soft, no error code, EIP past the instruction', () => {
    const m = exec('cd 80', {});
    expect(m.trap).toEqual(expect.objectContaining({ vector: 0x80, errorCode: -1, soft: true, faultEip: CODE, eip: CODE + 2 }));
  });

  it('the embedder can service int 80h and resume after it', () => {
    const m = exec('cd 80 89 c3', { eax: 4 }, {}, (t) => {
      t.onTrap = (trap, tm) => {
        if (trap.vector !== 0x80) return 'halt';
        tm.cpu.r32[0] = 42;
        return 'resume';
      };
    });
    expect(m.completed).toBe(true);
    expect(m.ebx).toBe(42);
  });

  it('int3: vector 3, EIP past the one-byte instruction', () => {
    const m = exec('cc', {});
    expect(m.traps[0]).toMatchObject({ vector: BP, soft: true, faultEip: CODE, eip: CODE + 1 });
  });

  it('into traps only when OF = 1', () => {
    expect(exec('ce', { flags: fl('OF') }).trap).toMatchObject({ vector: OFV, soft: true, faultEip: CODE, eip: CODE + 1 });
    expect(exec('ce', {}).completed).toBe(true);
  });

  it('int1 (icebp) raises #DB with EIP after the instruction', () => {
    expect(exec('90 f1', {}).trap).toMatchObject({ vector: 1, eip: CODE + 2 });
  });

  // Regression (fixed in 1a9bf4b): SELF must be computed before EIP moves past the instruction.
  it('int1 reports its own address as faultEip', () => {
    expect(exec('90 f1', {}).trap).toMatchObject({ vector: 1, faultEip: CODE + 1 });
  });
});

describe('HLT and BOUND', () => {
  it('hlt in ring 0 halts with EIP past it', () => {
    const m = exec('f4', {});
    expect(m.traps).toEqual([]);
    expect(m.cpu.halted).toBe(true);
    expect(m.eip).toBe(CODE + 1);
  });

  it('hlt in ring 3 is #GP(0)', () => {
    expect(exec('f4', { cpl: 3 }).trap).toMatchObject({ vector: GP, errorCode: 0, faultEip: CODE, eip: CODE });
  });

  it('bound: inside the inclusive bounds passes, outside is #BR (a fault)', () => {
    const bounds = (t: import('../testing.ts').TestMachine) => {
      t.write32(DATA, 0xfffffffe); // lower bound -2 (signed)
      t.write32(DATA + 4, 4);
    };
    expect(exec('62 03', { eax: 4, ebx: DATA }, {}, bounds).completed).toBe(true);
    expect(exec('62 03', { eax: 0xfffffffe, ebx: DATA }, {}, bounds).completed).toBe(true);
    expect(exec('62 03', { eax: 5, ebx: DATA }, {}, bounds).trap).toMatchObject({ vector: BR, soft: false, faultEip: CODE, eip: CODE });
    expect(exec('62 03', { eax: 0xfffffffd, ebx: DATA }, {}, bounds).trap).toMatchObject({ vector: BR });
  });

  it('bound with a register operand is #UD', () => {
    expect(exec('62 c0', {}).trap).toMatchObject({ vector: UD, faultEip: CODE });
  });
});

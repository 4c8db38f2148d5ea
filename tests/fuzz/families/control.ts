/** Emitters for control transfer, self-modifying code, and instructions that always fault. */
import { flagReads } from '../../../runtime/cpu/flags-table.ts';
import { INFEASIBLE, type Emit } from '../emit.ts';
import { ECX, ESP, toks, unknown } from './common.ts';

/** Jcc, JMP (rel8/rel32), LOOP/LOOPE/LOOPNE, JECXZ, CALL rel32: forward only, inside the sequence. */
export function jump(e: Emit): void {
  const name = e.t.spec.name;
  e.needFlags(flagReads(name));
  const { position, total } = e.pos;
  const rel8 = e.t.spec.operands === 'Jb';
  const loops = name === 'loop' || name === 'loope' || name === 'loopne' || name === 'jecxz';
  if (rel8 && !loops && name !== 'jmp' && e.pos.paging && e.rng.chance(0.02)) {
    // Jcc with a 16-bit operand size: a taken branch truncates EIP to 16 bits (SDM Vol. 2A
    // "Jcc"), far below anything mapped, so it faults on the fetch; not taken, it falls through.
    e.prefixes.push(0x66);
    e.imm(1, 8);
    e.mayFault = true;
    e.mnemonic = `${name} (o16)`;
    return;
  }
  const far = Math.min(total, position + (rel8 ? 4 : 8));
  const target = e.rng.range(position + 1, far);
  e.jump = { bytes: rel8 ? 1 : 4, target };
  // Prefixes the CPU ignores here: branch hints (2E/3E) on Jcc, BND (F2) as in MPX-era code.
  if (!loops && name !== 'call' && name !== 'jmp' && e.rng.chance(0.1)) e.seg = e.rng.pick([0x2e, 0x3e]);
  if (!loops && e.rng.chance(0.05)) e.prefixes.push(0xf2);
  if (name === 'loop' || name === 'loope' || name === 'loopne') {
    const c = e.st.getReg(ECX, 32);
    if (c.t) throw INFEASIBLE;
    e.st.setReg(ECX, 32, { v: c.v === undefined ? undefined : (c.v - 1) >>> 0, t: false });
  } else if (name === 'jecxz') {
    if (e.st.getReg(ECX, 32).t) throw INFEASIBLE;
  } else if (name === 'call') {
    e.push(4, unknown(false));
  }
}

/**
 * Indirect JMP/CALL through a register or memory, sometimes with the NOTRACK (3E) prefix gcc's
 * -fcf-protection emits, and RET / RET imm16: a preceding MOV or PUSH loads the target, the
 * address of a later position, so the transfer stays forward and inside the sequence.
 */
export function indirect(e: Emit): void {
  const { position, total } = e.pos;
  const target = e.rng.range(position + 1, Math.min(total, position + 8));
  const name = e.t.spec.name;
  if (name === 'ret') {
    e.preamble.push(0x68, 0, 0, 0, 0); // push imm32 (the target)
    e.labelReloc = { at: 1, target };
    e.push(4, unknown(false));
    e.pop(4);
    // REPZ RET (gcc's AMD K8 tuning) and BND RET: prefixes the CPU ignores on RET.
    if (e.rng.chance(0.15)) {
      const p = e.rng.pick([0xf3, 0xf2]);
      e.prefixes.push(p);
      e.mnemonic = p === 0xf3 ? 'repz ret' : 'bnd ret';
    }
    if (e.t.spec.operands === 'Iw') {
      const n = e.read(e.imm(2, 16, e.rng.pick([0, 2, 4, 8, 12, e.rng.int(64)]))).v!;
      const sp = e.st.known(ESP)!;
      e.st.val[ESP] = (sp + n) >>> 0;
    }
  } else {
    if (e.rng.chance(0.5)) {
      const r = e.rng.pick([0, 1, 2, 3, 5, 6, 7]);
      e.preamble.push(0xb8 + r, 0, 0, 0, 0); // mov r32, imm32 (the target)
      e.labelReloc = { at: 1, target };
      e.rmReg(r);
      e.st.setReg(r, 32, unknown(false));
    } else {
      const m = e.E(32, 'r', { memOnly: true, region: 'data' });
      if (m.kind !== 'mem') throw INFEASIBLE;
      // mov dword [ea], imm32 (the target); the transfer then reads it through any form.
      e.preamble.push(0xc7, 0x05, m.ea & 0xff, (m.ea >>> 8) & 0xff, (m.ea >>> 16) & 0xff, m.ea >>> 24, 0, 0, 0, 0);
      e.labelReloc = { at: 6, target };
      e.st.setMem(m.ea, 4, unknown(false));
    }
    if (name === 'call') e.push(4, unknown(false));
    if (e.rng.chance(0.3)) {
      e.seg = 0x3e;
      e.mnemonic = `notrack ${name}`;
    }
  }
  e.jump = { bytes: 0, target };
  if (name !== 'ret') e.mnemonic = e.mnemonic === name ? `${name} indirect` : `${e.mnemonic} indirect`;
}

// ---- self-modifying code ------------------------------------------------------------------------------

/**
 * A store into the instruction that follows it: MOV m32/m8, imm rewriting the immediate of a
 * MOV r32, imm32, or MOV m8, imm8 turning one INC/DEC r32 into another. x86 guarantees the
 * store is seen by the next fetch (SDM Vol. 3 §11.6); the emulator must drop the decoded block.
 */
export function smc(e: Emit): void {
  const byteStore = e.t.spec.op === 0xc6;
  e.rmMem({ mod: 0, rm: 5, sib: undefined, disp: 0, dispBytes: 4, ea: 0, base: -1, index: -1, scale: 0 });
  e.memAccess = e.memWrite = true;
  const r = e.rng.pick([0, 1, 2, 3, 5, 6, 7]);
  if (!byteStore || e.rng.chance(0.5)) {
    // Rewrite (part of) the immediate of MOV r32, imm32.
    const y = e.rng.value(32);
    e.trailer.push(0xb8 + r, y & 0xff, (y >>> 8) & 0xff, (y >>> 16) & 0xff, y >>> 24);
    const k = byteStore ? e.rng.int(4) : 0;
    const x = e.read(e.imm(byteStore ? 1 : 4, byteStore ? 8 : 32)).v!;
    e.codeTarget = { add: 1 + k };
    const v = byteStore ? ((y & ~(0xff << (8 * k))) | (x << (8 * k))) >>> 0 : x;
    e.st.setReg(r, 32, { v, t: false });
    e.mnemonic = `smc ${byteStore ? 'movb' : 'movl'} imm`;
  } else {
    // Turn INC/DEC r into INC/DEC r'.
    const before = (e.rng.chance(0.5) ? 0x40 : 0x48) + r;
    const after = (e.rng.chance(0.5) ? 0x40 : 0x48) + e.rng.pick([0, 1, 2, 3, 5, 6, 7]);
    e.trailer.push(before);
    e.imm(1, 8, after);
    e.codeTarget = { add: 0 };
    const name = after < 0x48 ? 'inc' : 'dec';
    const a = e.st.getReg(after & 7, 32);
    e.st.setReg(after & 7, 32, { v: a.t || a.v === undefined ? undefined : (a.v + (name === 'inc' ? 1 : -1)) >>> 0, t: a.t });
    e.st.applyFlags(name, { size: 32 }, a.t);
    e.mnemonic = 'smc movb opcode';
  }
  e.maybeSeg();
}

// ---- instructions that always fault ---------------------------------------------------------------------

/** Privileged or I/O instructions in ring 3: #GP(0), the last instruction of a case. */
export function privileged(e: Emit): void {
  const ops = toks(e);
  for (const tok of ops) {
    if (tok[0] === 'E' || tok[0] === 'M') e.E(e.sizeOf(tok), 'r', { memOnly: tok[0] === 'M' });
    else if (tok[0] === 'R') e.rmReg(e.rng.int(8));
    else if (tok[0] === 'C' || tok[0] === 'D') e.reg = e.rng.pick(tok[0] === 'C' ? [0, 2, 3, 4] : [0, 1, 2, 3, 6, 7]);
    else if (tok[0] === 'I') e.immTok(tok, 8);
  }
  if (e.t.spec.string && e.rng.chance(0.5)) e.prefixes.push(0xf3);
  e.endsCase = e.mayFault = true;
}

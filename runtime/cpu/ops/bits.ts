/**
 * Bit instructions: BT, BTS, BTR, BTC, BSF, BSR, BSWAP, SETcc, CMOVcc (SDM Vol. 2A/2B).
 */
import type { OpSpec } from '../spec.ts';
import { CC_NAMES, cond, pre, reg, rE, rG, rM, sx, wE, wG, wM, type Form } from '../templates.ts';

/**
 * BT family. With a register bit offset and a memory operand the offset is a signed index
 * into the bit string starting at the operand (SDM Vol. 2A "BT", Table 3-2); otherwise it is
 * taken modulo the operand width.
 */
const bt = (k: number, immediate: boolean) => (f: Form): string => {
  const s = f.size;
  let locate: string;
  if (f.mem && !immediate) {
    locate = s === 32
      ? `const off = ${rG(f)}; const ad = (ea + ((off >> 5) << 2)) | 0; const bit = off & 31;`
      : `const off = ${sx(16, rG(f))}; const ad = (ea + ((off >> 4) << 1)) | 0; const bit = off & 15;`;
  } else {
    locate = `const bit = ${immediate ? 'i.imm' : rG(f)} & ${s - 1}; ${f.mem ? 'const ad = ea;' : ''}`;
  }
  const read = f.mem ? rM(s, 'ad') : reg(s, 'rm');
  const write = (v: string): string => (f.mem ? wM(s, 'ad', v) : `${reg(s, 'rm')} = ${v};`);
  const fix = (v: string): string => (s === 32 ? `(${v}) | 0` : `(${v}) & 0xffff`);
  const update = ['', write(fix('v | (1 << bit)')), write(fix('v & ~(1 << bit)')), write(fix('v ^ (1 << bit)'))][k]!;
  const probe = f.mem && k !== 0 ? `c.probeWrite(ad, ${s / 8});` : '';
  return `${pre(f)} ${locate} ${probe} const v = ${read}; H.setCarry(c, (v >>> bit) & 1); ${update}`;
};

const BT_NAMES = ['bt', 'bts', 'btr', 'btc'];
const specs: OpSpec[] = [];
[0x1a3, 0x1ab, 0x1b3, 0x1bb].forEach((op, k) => {
  specs.push({ op, name: BT_NAMES[k]!, operands: 'Ev,Gv', lock: k !== 0, hot: 2, body: bt(k, false) });
  specs.push({ op: 0x1ba, ext: 4 + k, name: BT_NAMES[k]!, operands: 'Ev,Ib', lock: k !== 0, hot: 2, body: bt(k, true) });
});

specs.push(
  {
    // BSF: index of the lowest set bit; a zero source sets ZF and leaves the destination.
    op: 0x1bc, name: 'bsf', operands: 'Gv,Ev', hot: 2,
    body: (f) => `${pre(f)} const v = ${rE(f)}; if (v === 0) H.setZero(c, true); else { ${wG(f, '31 - Math.clz32(v & -v)')} H.setZero(c, false); }`,
  },
  {
    op: 0x1bd, name: 'bsr', operands: 'Gv,Ev', hot: 2,
    body: (f) => `${pre(f)} const v = ${rE(f)}; if (v === 0) H.setZero(c, true); else { ${wG(f, '31 - Math.clz32(v)')} H.setZero(c, false); }`,
  },
);

for (let r = 0; r < 8; r++) {
  specs.push({
    // BSWAP r32; with a 16-bit operand the result is undefined (SDM): processors clear it.
    op: 0x1c8 + r, name: 'bswap', operands: 'Zv', hot: 2,
    body: (f) => f.size === 16 ? 'c.r16[i.rm << 1] = 0;'
      : 'const v = c.r32[i.rm]; c.r32[i.rm] = (v << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24);',
  });
}

for (let cc = 0; cc < 16; cc++) {
  specs.push(
    { op: 0x190 + cc, name: `set${CC_NAMES[cc]}`, operands: 'Eb', width: 'b', hot: 3, body: (f) => `${pre(f)} ${wE(f, `(${cond(cc)}) ? 1 : 0`, 8)}` },
    // CMOVcc reads its source whatever the condition (a memory source can fault).
    { op: 0x140 + cc, name: `cmov${CC_NAMES[cc]}`, operands: 'Gv,Ev', hot: 3, body: (f) => `${pre(f)} const v = ${rE(f)}; if (${cond(cc)}) { ${wG(f, 'v')} }` },
  );
}

export const BITS = specs;

/** The flag table's lookups (runtime/cpu/flags-table.ts) and the generator state's use of them. */
import { describe, expect, it } from 'vitest';
import { ARITH6, FLAGS_TABLE, flagEffect, flagReads } from '../../runtime/cpu/flags-table.ts';
import { AF, CF, OF, PF, SF, ZF } from '../../runtime/cpu/constants.ts';
import { OPCODES } from '../../runtime/cpu/table.ts';
import { AState } from './state.ts';

describe('flags table', () => {
  it('names only mnemonics of the opcode table', () => {
    const names = new Set(OPCODES.map((s) => s.name));
    expect(Object.keys(FLAGS_TABLE).filter((n) => !names.has(n))).toEqual([]);
  });

  it('picks the case a known count selects', () => {
    expect(flagEffect('shl', { size: 32, count: 0 })).toEqual([{ when: 'count=0', defines: 0, undefined: 0 }]);
    expect(flagEffect('shl', { size: 32, count: 1 })[0]!.undefined).toBe(AF);
    expect(flagEffect('shl', { size: 32, count: 5 })[0]!.undefined).toBe(OF | AF);
    expect(flagEffect('shl', { size: 8, count: 8 })[0]!.undefined).toBe(CF | OF | AF);
    expect(flagEffect('sar', { size: 8, count: 9 })[0]!.defines & CF).toBe(CF);
    expect(flagEffect('shld', { size: 16, count: 16 })[0]!.resultUndefined).toBeUndefined();
    expect(flagEffect('shld', { size: 16, count: 17 })[0]!.resultUndefined).toBe(true);
  });

  it('returns every case that may hold when the input is unknown', () => {
    expect(flagEffect('rcl', { size: 32 })).toHaveLength(4);
    expect(flagEffect('bsf', { size: 32 })).toHaveLength(2);
    expect(flagEffect('bsf', { size: 32, srcZero: false })).toHaveLength(1);
  });

  it('reads condition codes per SDM Vol. 1 Appendix B', () => {
    expect(flagReads('jbe')).toBe(CF | ZF);
    expect(flagReads('setl')).toBe(SF | OF);
    expect(flagReads('cmovg')).toBe(ZF | SF | OF);
    expect(flagReads('cmovnp')).toBe(PF);
    expect(flagReads('adc')).toBe(CF);
    expect(flagReads('mov')).toBe(0);
  });

  it('drives definedness through a sequence', () => {
    const st = new AState();
    st.applyFlags('mul', { size: 32 }, false);
    expect(st.undef).toBe(SF | ZF | AF | PF);
    st.applyFlags('inc', { size: 32 }, false); // redefines all but CF
    expect(st.undef).toBe(0);
    st.applyFlags('div', { size: 32 }, false);
    expect(st.undef).toBe(ARITH6);
    st.applyFlags('shl', { size: 32 }, false); // count unknown: could be 0 (no change)
    expect(st.undef).toBe(ARITH6);
    st.applyFlags('cmp', { size: 32 }, true); // a tainted input leaves them undefined
    expect(st.undef).toBe(ARITH6);
    st.applyFlags('cmp', { size: 32 }, false);
    expect(st.undef).toBe(0);
  });
});

/** The family emitters, one module per group (templates.ts maps opcode records to them). */
export * from './arith.ts';
export * from './move.ts';
export * from './stack.ts';
export * from './string.ts';
export * from './control.ts';

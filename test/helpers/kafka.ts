/** The process harness lives with the benchmarks, which use it too. */
export * from '../../bench/lib/harness.js';

/**
 * The command line's exit codes: 0 ok, 1 input errors (rejected rows, bad files, bad
 * configuration), 2 usage errors; and how a command's action reports the one it ends with.
 */
export const EXIT_OK = 0;
export const EXIT_INPUT = 1;
export const EXIT_USAGE = 2;

export type SetExit = (code: number) => void;

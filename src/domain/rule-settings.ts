/**
 * What the decision rules read of the configuration (config `rules`): the procedures and HS codes
 * that prove legal entry, EAEU imports, and who may send a spare check digit; with the two
 * questions about a KGD decision that rules, commands and customs views all ask.
 */

export interface RuleSettings {
  /** Customs procedure codes that prove legal entry (seed 000 §8); defaults in config/. */
  readonly eligibleProcedures: ReadonlySet<string>;
  /**
   * Whether KGD's record of an import from another EAEU member state (no customs procedure)
   * proves legal entry, as seed 000 §4(6) counts such imports (`rules.acceptEaeuImports`).
   * Absent: accepted, the default of config/default.json.
   */
  readonly acceptEaeuImports?: boolean;
  /**
   * The HS codes of the devices the exchange covers (seed 000 appendix 1; `rules.hsCodesInScope`).
   * A decision under another code proves nothing. A decision without an HS code is taken as in
   * scope: KGD's export need not carry one (seed 000 appendix 2 lists application, procedure and
   * IMEI only). Absent: every code is in scope.
   */
  readonly hsCodesInScope?: ReadonlySet<string>;
  /**
   * Operators and channels whose IMEIs may come from network signalling, with a spare digit 0
   * in place of the check digit (3GPP TS 23.003 §6.2.1; `normaliseImei`). Absent: the strict
   * check for every request.
   */
  readonly spareDigit?: { readonly operators: ReadonlySet<string>; readonly channels: ReadonlySet<string> };
}

/** The rules' configured form: config `rules` as validated (src/config/config.ts), plain data. */
export interface RuleConfig {
  readonly eligibleProcedures: readonly string[];
  readonly acceptEaeuImports: boolean;
  readonly hsCodesInScope: readonly string[];
  readonly spareDigit: { readonly operators: readonly string[]; readonly channels: readonly string[] };
}

/** The rules' settings from their configured form (config `rules`, the workers' settings). */
export function ruleSettingsOf(rules: RuleConfig): RuleSettings {
  return {
    eligibleProcedures: new Set(rules.eligibleProcedures),
    acceptEaeuImports: rules.acceptEaeuImports,
    hsCodesInScope: new Set(rules.hsCodesInScope),
    spareDigit: {
      operators: new Set(rules.spareDigit.operators),
      channels: new Set(rules.spareDigit.channels),
    },
  };
}

/** Whether a released entry's procedure proves legal entry: an eligible code, or an accepted EAEU import. */
export function provesEntry(procedure: string | null, settings: RuleSettings): boolean {
  return procedure === null
    ? settings.acceptEaeuImports !== false
    : settings.eligibleProcedures.has(procedure);
}

/** Whether a decision's HS code is one the exchange covers; a decision without one is taken as in scope. */
export function inScope(hsCode: string | null, settings: RuleSettings): boolean {
  return hsCode === null || settings.hsCodesInScope === undefined || settings.hsCodesInScope.has(hsCode);
}

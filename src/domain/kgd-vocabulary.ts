/**
 * KGD's words, as its systems and its people write them, mapped to the canonical values the
 * index stores: declaration statuses and customs procedure names, in Russian, Kazakh and English.
 * One table each, read the same way by the KGD file loader and the `kgd.release.decisions` topic,
 * so a spelling accepted on one path is accepted on the other. A word that is not in a table is
 * reported with its value (by row in a file, in the DLQ on the topic), never guessed.
 *
 * Statuses follow the declaration lifecycle of seed 002 §8: submitted (берілді), registered
 * (тіркелді) or registration refused (тіркеуден бас тартылды), the risk-management check
 * (тәуекелдерді басқару жүйесінің тексеруі), release permitted (тауарларды шығаруға рұқсат
 * берілді) or release refused (тауарларды шығарудан бас тарту); and a revoked decision (DESIGN.md
 * §2). Every status that decides nothing yet is stored as `registered`: a request waits.
 */
import type { DeclarationStatus } from './types.js';

/**
 * Lower case, letters and digits only, `ё` read as `е`, and the Latin look-alikes of а е о с read
 * as Cyrillic: «Выпуск разрешён», "выпуск разрешен" and "ВЫПУСК  РАЗРЕШЕН." are one word.
 */
export function foldedText(text: string): string {
  return text
    .normalize('NFKC')
    .toLowerCase()
    .replaceAll('ё', 'е')
    .replace(/[^\p{L}\p{N}]/gu, '')
    .replace(/[aeoc]/g, (c) => ({ a: 'а', e: 'е', o: 'о', c: 'с' })[c] ?? c);
}

/** Each status with the spellings that mean it. */
export const STATUS_SPELLINGS: Readonly<Record<DeclarationStatus, readonly string[]>> = {
  // Undecided: submitted, registered, under the risk-management check.
  registered: [
    'registered',
    'submitted',
    'risk check',
    'зарегистрирована',
    'зарегистрировано',
    'зарегистрирован',
    'подана',
    'подано',
    'принята',
    'на проверке',
    'проверка СУР',
    'тіркелді',
    'тіркелген',
    'берілді',
    'тәуекелдерді басқару жүйесінің тексеруі',
  ],
  released: [
    'released',
    'выпущено',
    'выпущен',
    'выпуск разрешен',
    'выпуск товаров разрешен',
    'разрешен выпуск',
    'тауарларды шығаруға рұқсат берілді',
    'шығаруға рұқсат берілді',
    'шығаруға рұқсат',
    'шығарылды',
  ],
  // A refusal of release, or of registration: either way KGD refutes the import (seed 002 §8).
  refused: [
    'refused',
    'отказано',
    'отказ в выпуске',
    'отказано в выпуске',
    'отказ в регистрации',
    'отказано в регистрации',
    'тауарларды шығарудан бас тарту',
    'шығарудан бас тарту',
    'шығарудан бас тартылды',
    'тіркеуден бас тарту',
    'тіркеуден бас тартылды',
  ],
  revoked: [
    'revoked',
    'отозвано',
    'отозван',
    'решение отозвано',
    'решение о выпуске отозвано',
    'аннулировано',
    'выпуск отменен',
    'решение отменено',
    'кері қайтарылды',
    'кері қайтарып алынды',
    'шешім кері қайтарылды',
    'күші жойылды',
  ],
};

const STATUS_BY_FOLDED: ReadonlyMap<string, DeclarationStatus> = (() => {
  const byFolded = new Map<string, DeclarationStatus>();
  for (const [status, spellings] of Object.entries(STATUS_SPELLINGS) as [DeclarationStatus, string[]][]) {
    for (const spelling of spellings) {
      const key = foldedText(spelling);
      const known = byFolded.get(key);
      if (known !== undefined && known !== status)
        throw new Error(`status spelling ${spelling} means both ${known} and ${status}`);
      byFolded.set(key, status);
    }
  }
  return byFolded;
})();

/** A status as KGD writes it → the canonical status, or an Error naming the value. */
export function parseDeclarationStatus(text: string): DeclarationStatus | Error {
  const status = STATUS_BY_FOLDED.get(foldedText(text));
  if (status !== undefined) return status;
  return new Error(
    `status ${JSON.stringify(text)} is not a KGD status this service knows (released, refused, revoked, registered, or their Russian or Kazakh spellings: docs/domain.md, "KGD's vocabulary")`,
  );
}

/**
 * Customs procedures by name (EAEU Customs Code, art. 127; the two-digit codes of Customs Union
 * Commission decision No. 378), for exports that write the name instead of the code.
 */
export const PROCEDURE_NAMES: Readonly<Record<string, readonly string[]>> = {
  '40': ['release for domestic consumption', 'выпуск для внутреннего потребления', 'ішкі тұтыну үшін шығару'],
  '53': [
    'temporary import',
    'temporary admission',
    'временный ввоз',
    'временный ввоз (допуск)',
    'уақытша әкелу',
    'уақытша әкелу (рұқсат беру)',
  ],
  '60': ['re-import', 'реимпорт'],
  '94': ['refusal in favour of the state', 'отказ в пользу государства', 'мемлекеттің пайдасына бас тарту'],
  '80': ['customs transit', 'таможенный транзит', 'кедендік транзит'],
  '70': ['customs warehouse', 'таможенный склад', 'кеден қоймасы'],
  '93': ['destruction', 'уничтожение', 'жою'],
  '31': ['re-export', 'реэкспорт'],
  '10': ['export', 'экспорт', 'экспорттау'],
};

const PROCEDURE_BY_FOLDED: ReadonlyMap<string, string> = new Map(
  Object.entries(PROCEDURE_NAMES).flatMap(([code, names]) =>
    names.map((name) => [foldedText(name), code] as const),
  ),
);

/** A procedure's name → its two-digit code; undefined when the text names none. */
export function procedureByName(text: string): string | undefined {
  return PROCEDURE_BY_FOLDED.get(foldedText(text));
}

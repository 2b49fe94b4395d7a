/**
 * The reason catalogue in the languages operators and reviewers work in: Russian, Kazakh, and
 * English. Results on Kafka carry the machine-readable `reason` code (and an English `detail`
 * for logs), never translated text: an operator tells a subscriber why in their language by
 * looking the code up here. docs/reasons.md lists the same texts (a test checks they agree) and
 * the review page shows them.
 */
import {
  EVIDENCE_KINDS,
  type Evidence,
  FLAG_REASONS,
  type FlagReason,
  PENDING_REASONS,
  type PendingReason,
  REJECT_REASONS,
  REVIEW_REASONS,
  type RejectReason,
  type ReviewReason,
} from './types.js';

export const LANGUAGES = ['ru', 'kk', 'en'] as const;
export type Language = (typeof LANGUAGES)[number];

/** Reason codes, evidence kinds, and the stage `review` (the stage `awaiting_kgd` is its reason). */
export type CatalogueCode = RejectReason | PendingReason | ReviewReason | FlagReason | Evidence | 'review';

type Texts = Readonly<Record<Language, string>>;

/** Every reason code, evidence kind and stage, in every language. */
export const REASON_CATALOGUE: Readonly<Record<CatalogueCode, Texts>> = {
  invalid_request: {
    en: 'The request is invalid: a field is missing or malformed',
    ru: 'Запрос некорректен: поле отсутствует или имеет неверный формат',
    kk: 'Сұрау жарамсыз: өріс жоқ немесе пішімі қате',
  },
  malformed_imei: {
    en: 'The IMEI is malformed (not 14–16 digits, or a TAC of zeros)',
    ru: 'IMEI имеет неверный формат (не 14–16 цифр или TAC из нулей)',
    kk: 'IMEI пішімі қате (14–16 цифр емес немесе TAC нөлдерден тұрады)',
  },
  luhn_mismatch: {
    en: 'The IMEI check digit is wrong',
    ru: 'Неверная контрольная цифра IMEI',
    kk: 'IMEI бақылау цифры қате',
  },
  tac_unknown: {
    en: 'The device model (TAC) is not in the GSMA database',
    ru: 'Модель устройства (TAC) отсутствует в базе GSMA',
    kk: 'Құрылғы моделі (TAC) GSMA базасында жоқ',
  },
  blocklisted: {
    en: 'The device is on the block list',
    ru: 'Устройство находится в списке блокировки',
    kk: 'Құрылғы бұғаттау тізімінде тұр',
  },
  declaration_refused: {
    en: 'KGD refused the release of the goods, or revoked it',
    ru: 'КГД отказал в выпуске товаров или отозвал решение о выпуске',
    kk: 'МКК тауарларды шығаруға рұқсат бермеді немесе шығару туралы шешімді кері қайтарды',
  },
  declaration_mismatch: {
    en: 'The named customs application does not list this IMEI',
    ru: 'Указанная таможенная заявка не содержит этот IMEI',
    kk: 'Көрсетілген кедендік өтінімде бұл IMEI жоқ',
  },
  procedure_not_eligible: {
    en: 'The customs procedure does not prove legal import',
    ru: 'Таможенная процедура не подтверждает законный ввоз',
    kk: 'Кедендік рәсім заңды әкелуді растамайды',
  },
  hs_out_of_scope: {
    en: 'The goods were declared under an HS code outside the devices this exchange covers',
    ru: 'Товар задекларирован под кодом ТН ВЭД вне перечня устройств, охватываемых обменом',
    kk: 'Тауар алмасу қамтитын құрылғылар тізбесінен тыс СЭҚ ТН кодымен декларацияланған',
  },
  review_rejected: {
    en: 'Rejected by a reviewer',
    ru: 'Отклонено при ручной проверке',
    kk: 'Қолмен тексеру кезінде қабылданбады',
  },
  duplicate_request: {
    en: 'This requestId already has a final outcome',
    ru: 'По этому requestId уже принято окончательное решение',
    kk: 'Бұл requestId бойынша түпкілікті шешім қабылданған',
  },
  purged: {
    en: "The request's data was destroyed on request before it was decided",
    ru: 'Данные запроса уничтожены по требованию до принятия решения',
    kk: 'Сұрау деректері шешім қабылданғанға дейін талап бойынша жойылды',
  },
  awaiting_kgd: {
    en: 'Waiting for a KGD release decision',
    ru: 'Ожидается решение КГД о выпуске',
    kk: 'МКК-ның шығару туралы шешімі күтілуде',
  },
  kgd_timeout: {
    en: 'No KGD decision within the deadline; waiting for a reviewer',
    ru: 'Решение КГД не поступило в срок; ожидается ручная проверка',
    kk: 'МКК шешімі мерзімінде түспеді; қолмен тексеру күтілуде',
  },
  owner_conflict: {
    en: 'The device is registered to another owner',
    ru: 'Устройство зарегистрировано на другого владельца',
    kk: 'Құрылғы басқа иеге тіркелген',
  },
  kgd_refuted: {
    en: 'Confirmed by a reviewer, since refused or revoked by KGD: a reviewer keeps or withdraws it',
    ru: 'Подтверждено вручную, затем КГД отказал или отозвал решение: требуется повторная проверка',
    kk: 'Қолмен расталған, кейін МКК бас тартты немесе шешімді кері қайтарды: қайта тексеру қажет',
  },
  review: {
    en: 'Waiting for a reviewer',
    ru: 'Ожидает ручной проверки',
    kk: 'Қолмен тексеруді күтуде',
  },
  'kgd-release': {
    en: 'Released by KGD under an eligible customs procedure',
    ru: 'Выпущено КГД по таможенной процедуре, подтверждающей законный ввоз',
    kk: 'МКК заңды әкелуді растайтын кедендік рәсім бойынша шығарды',
  },
  manual: {
    en: 'Confirmed by a reviewer',
    ru: 'Подтверждено при ручной проверке',
    kk: 'Қолмен тексеру кезінде расталды',
  },
  'local-production': {
    en: 'Produced or repaired in Kazakhstan',
    ru: 'Произведено или отремонтировано в Казахстане',
    kk: 'Қазақстанда өндірілген немесе жөнделген',
  },
  'eaeu-import': {
    en: 'Imported from an EAEU member state, as KGD records it (no customs procedure)',
    ru: 'Ввезено из государства — члена ЕАЭС, по данным КГД (без таможенной процедуры)',
    kk: 'ЕАЭО-ға мүше мемлекеттен әкелінген, МКК деректері бойынша (кедендік рәсімсіз)',
  },
};

/** Every code the catalogue must hold, from the contract's own lists. */
export const CATALOGUE_CODES: readonly CatalogueCode[] = [
  ...REJECT_REASONS,
  ...PENDING_REASONS,
  ...REVIEW_REASONS,
  ...FLAG_REASONS,
  ...EVIDENCE_KINDS,
  'review',
];

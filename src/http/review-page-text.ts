/** The reviewers' page's words in each of its languages (src/http/review-page.ts). */
import type { Language } from '../domain/reason-catalogue.js';
import type { DeclarationStatus } from '../domain/types.js';
export interface PageText {
  readonly title: string;
  readonly heading: string;
  readonly languageName: string;
  readonly token: string;
  readonly useToken: string;
  readonly show: string;
  readonly showReview: string;
  readonly showAll: string;
  readonly refresh: string;
  /** `{n}`: how many. */
  readonly waiting: string;
  /** The queue's columns; times are Astana time (seed 001 §30). */
  readonly columns: readonly [string, string, string, string, string, string, string, string];
  readonly open: string;
  readonly application: string;
  readonly basis: string;
  readonly showOwner: string;
  /** `{owner}`, `{phone}`. */
  readonly owner: string;
  readonly reason: string;
  readonly confirm: string;
  readonly reject: string;
  readonly confirmed: string;
  readonly rejected: string;
  /** `{time}`: how long ago the deadline passed. */
  readonly overdue: string;
  /** The device's KGD declarations: heading, columns, and when there are none. */
  readonly declarations: string;
  readonly declarationColumns: readonly [string, string, string, string, string];
  readonly noDeclarations: string;
  /**
   * The registration an owner conflict is with: `{operator}` (that registered it; "—" when not
   * recorded), `{requestId}`, `{at}`, `{owner}`, `{phone}`, `{evidence}`.
   */
  readonly conflict: string;
  /** Confirming a request that still waits for KGD. */
  readonly override: string;
  /** KGD's declaration statuses (`registered` stands for every undecided one). */
  readonly statuses: Readonly<Record<DeclarationStatus, string>>;
  readonly days: string;
  readonly hours: string;
  readonly minutes: string;
}

export const PAGE_TEXT: Readonly<Record<Language, PageText>> = {
  ru: {
    title: 'imeiflow — ручная проверка',
    heading: 'imeiflow — очередь ручной проверки',
    languageName: 'Русский',
    token: 'Токен доступа (Bearer)',
    useToken: 'Использовать токен',
    show: 'Показать',
    showReview: 'ожидающие ручной проверки',
    showAll: 'все ожидающие запросы',
    refresh: 'Обновить',
    waiting: 'ожидают: {n}',
    columns: [
      'requestId',
      'IMEI',
      'оператор',
      'этап',
      'причина',
      'поступил (Астана)',
      'срок (Астана)',
      'осталось до срока',
    ],
    open: 'Открыть',
    application: 'заявка',
    basis: 'Основание (номер дела или обращения; записывается в журнал аудита)',
    showOwner: 'Показать владельца',
    owner: 'владелец {owner}, телефон {phone}',
    reason: 'Обоснование решения',
    confirm: 'Подтвердить',
    reject: 'Отклонить',
    confirmed: 'Подтверждено',
    rejected: 'Отклонено',
    overdue: 'просрочено на {time}',
    declarations: 'Таможенные декларации устройства (КГД)',
    declarationColumns: ['заявка', 'процедура', 'статус', 'код ТН ВЭД', 'решение (Астана)'],
    noDeclarations: 'КГД не сообщал о решениях по этому IMEI',
    conflict:
      'Зарегистрировано оператором {operator} по запросу {requestId} с {at} (основание {evidence}): владелец {owner}, телефон {phone}',
    override: 'Подтвердить до ответа КГД (с обоснованием; записывается в журнал аудита)',
    statuses: {
      registered: 'решение не принято',
      released: 'выпуск разрешён',
      refused: 'отказ',
      revoked: 'решение отозвано',
    },
    days: 'д',
    hours: 'ч',
    minutes: 'мин',
  },
  kk: {
    title: 'imeiflow — қолмен тексеру',
    heading: 'imeiflow — қолмен тексеру кезегі',
    languageName: 'Қазақша',
    token: 'Қол жеткізу токені (Bearer)',
    useToken: 'Токенді қолдану',
    show: 'Көрсету',
    showReview: 'қолмен тексеруді күтетіндер',
    showAll: 'барлық күтудегі сұраулар',
    refresh: 'Жаңарту',
    waiting: 'күтуде: {n}',
    columns: [
      'requestId',
      'IMEI',
      'оператор',
      'кезең',
      'себеп',
      'түсті (Астана)',
      'мерзімі (Астана)',
      'мерзімге дейін қалды',
    ],
    open: 'Ашу',
    application: 'өтінім',
    basis: 'Негіздеме (іс немесе өтініш нөмірі; аудит журналына жазылады)',
    showOwner: 'Иесін көрсету',
    owner: 'иесі {owner}, телефоны {phone}',
    reason: 'Шешімнің негіздемесі',
    confirm: 'Растау',
    reject: 'Қабылдамау',
    confirmed: 'Расталды',
    rejected: 'Қабылданбады',
    overdue: 'мерзімнен {time} асты',
    declarations: 'Құрылғының кедендік декларациялары (МКК)',
    declarationColumns: ['өтінім', 'рәсім', 'мәртебе', 'СЭҚ ТН коды', 'шешім (Астана)'],
    noDeclarations: 'МКК бұл IMEI бойынша шешім жібермеген',
    conflict:
      '{requestId} сұрауы бойынша {at} бастап тіркелген (операторы {operator}, негізі {evidence}): иесі {owner}, телефоны {phone}',
    override: 'МКК жауабына дейін растау (негіздемемен; аудит журналына жазылады)',
    statuses: {
      registered: 'шешім қабылданбаған',
      released: 'шығаруға рұқсат берілді',
      refused: 'бас тартылды',
      revoked: 'шешім кері қайтарылды',
    },
    days: 'күн',
    hours: 'сағ',
    minutes: 'мин',
  },
  en: {
    title: 'imeiflow — review',
    heading: 'imeiflow — review queue',
    languageName: 'English',
    token: 'Bearer token',
    useToken: 'Use token',
    show: 'Show',
    showReview: 'waiting for a reviewer',
    showAll: 'all waiting requests',
    refresh: 'Refresh',
    waiting: '{n} waiting',
    columns: [
      'requestId',
      'IMEI',
      'operator',
      'stage',
      'reason',
      'received (Astana)',
      'due (Astana)',
      'time left',
    ],
    open: 'Open',
    application: 'application',
    basis: 'Basis (case or ticket number, recorded in the audit log)',
    showOwner: 'Show owner',
    owner: 'owner {owner}, phone {phone}',
    reason: 'Reason',
    confirm: 'Confirm',
    reject: 'Reject',
    confirmed: 'Confirmed',
    rejected: 'Rejected',
    overdue: 'overdue by {time}',
    declarations: "The device's customs declarations (KGD)",
    declarationColumns: ['application', 'procedure', 'status', 'HS code', 'decided (Astana)'],
    noDeclarations: 'KGD has sent no decision for this IMEI',
    conflict:
      'Registered by {operator}, request {requestId}, since {at} (evidence {evidence}): owner {owner}, phone {phone}',
    override: 'Confirm before KGD answers (with a reason; recorded in the audit log)',
    statuses: {
      registered: 'not decided yet',
      released: 'release permitted',
      refused: 'refused',
      revoked: 'revoked',
    },
    days: 'd',
    hours: 'h',
    minutes: 'min',
  },
};

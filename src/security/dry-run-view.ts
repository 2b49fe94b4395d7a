/**
 * What a dry run (POST /v1/verify) answers to whom. A dry run decides a request exactly as the
 * stream would (src/domain/dry-run.ts), and so reads what the stream reads: the registry, other
 * requests' outcomes, KGD's declarations. Its answer follows the same rules as GET /v1/devices:
 *
 * - **Customs view** (customs-view.ts): in the `reduced` view no application, procedure or grounds,
 *   in the decision or the steps.
 * - **The registry's owner and phone** (seed 000 §14–15; seed 001 §9): whatever rule 5 decides
 *   from them — confirmed again (same owner), an owner conflict (another), a new phone or not — is
 *   a read of them, answered only to an account that may read them: a role with personal data, an
 *   X-Basis, and for an operator a waiting request of its own for the device (tenancy.ts).
 *   Anyone else is told only that the device is registered: the same answer whatever owner or
 *   phone the request guessed, so a dry run is no oracle for who owns a device.
 * - **Another request's outcome** (rule 10): a tenant is told its requestId is taken, not which
 *   device or outcome it had — that request may be another operator's.
 */

import { type CustomsView, type DecisionInView, decisionInView } from '../domain/customs-view.js';
import { type DryRun, dryRun, type RecordedRegistration } from '../domain/dry-run.js';
import { normaliseImei } from '../domain/imei.js';
import type { RuleSettings } from '../domain/rule-settings.js';
import type { IndexView, PendingEntry, RegistryEntry, VerifyRequest } from '../domain/types.js';
import type { Role } from './roles.js';
import { readsRegistration, type Tenancy } from './tenancy.js';

/** What a traced step may quote: plain rules, rule 10's earlier outcome, rule 5's registration, KGD's data. */
type StepOrigin = 'rule' | 'duplicate' | 'registry' | 'customs';

interface Step {
  readonly text: string;
  readonly origin: StepOrigin;
  /** The rules marked it as quoting KGD applications the request did not name. */
  readonly quotesCustoms: boolean;
}

/** A dry run with what it consulted, to answer each account as much as it may see. */
export interface ObservedDryRun {
  readonly request: VerifyRequest;
  readonly run: DryRun;
  readonly steps: readonly Step[];
  /** The registration rule 5 found; null: consulted, not registered; undefined: not consulted. */
  readonly registration: RegistryEntry | null | undefined;
  /** Rule 10 found an earlier outcome for the requestId. */
  readonly duplicate: boolean;
}

/** Run the rules over `view`, noting what each traced step comes from and what rule 5 and 10 found. */
export function observeDryRun(
  request: VerifyRequest,
  view: IndexView,
  settings: RuleSettings,
): ObservedDryRun {
  let origin: StepOrigin = 'rule';
  let registration: RegistryEntry | null | undefined;
  let duplicate = false;
  const steps: Step[] = [];
  // The rules trace each step right after the lookup it reports: the last lookup is its origin.
  const watched: IndexView = {
    tac: (tac) => {
      origin = 'rule';
      return view.tac(tac);
    },
    blocked: (body) => {
      origin = 'rule';
      return view.blocked(body);
    },
    declarations: (body) => {
      origin = 'customs';
      return view.declarations(body);
    },
    application: (id) => {
      origin = 'customs';
      return view.application(id);
    },
    localProduction: (body) => {
      origin = 'rule';
      return view.localProduction(body);
    },
    registered: (body) => {
      origin = 'registry';
      const entry = view.registered(body);
      registration = entry ?? null;
      return entry;
    },
    outcome: (requestId) => {
      const recorded = view.outcome(requestId);
      duplicate = recorded !== undefined;
      origin = duplicate ? 'duplicate' : 'rule';
      return recorded;
    },
  };
  const run = dryRun(request, watched, settings, (text, topic) =>
    steps.push({ text, origin, quotesCustoms: topic === 'customs' }),
  );
  return { request, run, steps, registration, duplicate };
}

/** Who asks, and what they may see. */
export interface DryRunReader {
  readonly role: Role;
  readonly tenancy: Tenancy;
  readonly customsView: CustomsView;
  /** The role may read personal data. */
  readonly readsPersonalData: boolean;
  readonly basis: string | null;
  /** Every waiting request for the device (the review table's), for the tenancy rule. */
  readonly waiting: (body: string) => readonly PendingEntry[];
}

/** A decision withheld at rule 5: the device is registered; what follows depends on its owner. */
export interface WithheldDecision {
  readonly outcome: 'withheld';
  readonly requestId: string;
  readonly imei: string;
  readonly detail: string;
}

/** A tenant's rule 10: its requestId is taken, by a request that may be another operator's. */
interface TakenRequestId {
  readonly outcome: 'rejected';
  readonly requestId: string;
  readonly imei: string;
  readonly reason: 'duplicate_request';
  readonly detail: string;
}

export interface DryRunAnswer {
  readonly decision: DecisionInView | WithheldDecision | TakenRequestId;
  readonly steps: readonly string[];
  readonly customsView: CustomsView;
  /** The answer holds personal data the request did not bring (rule 5's owner-dependent decision). */
  readonly personalData: boolean;
  /** Something was withheld: the registration rule 5 decides from. */
  readonly withheld: boolean;
  /** The registration's owner and phone, when they differ from the request's and may be shown. */
  readonly registeredOwner?: RecordedRegistration;
  /** For the audit trail: whether the registry was consulted, and what of it was answered. */
  readonly registry:
    | 'not consulted'
    | 'consulted: not registered'
    | 'consulted: registered, owner withheld'
    | 'consulted: registered, owner shown';
}

function withheldDetail(reader: DryRunReader): string {
  const who =
    reader.tenancy.kind === 'all'
      ? 'which are read only with an X-Basis (audited)'
      : 'which an operator reads only with an X-Basis and a waiting request of its own for this device';
  return `the IMEI is registered: what this request would get depends on the registration's owner and phone (the same owner or another, a new phone or not), ${who}`;
}

/** The steps as `reader` may see them. */
function stepsFor(observed: ObservedDryRun, reader: DryRunReader, registrationShown: boolean): string[] {
  const { request } = observed;
  const view = reader.customsView;
  const withheld = `details withheld (customs view ${view} for role ${reader.role})`;
  const out: string[] = [];
  let declarationsWithheld = false;
  for (const step of observed.steps) {
    switch (step.origin) {
      case 'rule':
        out.push(step.text);
        break;
      case 'duplicate':
        out.push(
          reader.tenancy.kind === 'all'
            ? step.text
            : `request ${request.requestId} already has a final outcome (which, withheld: the requestId may be another operator's)`,
        );
        break;
      case 'registry':
        out.push(
          registrationShown || observed.registration === null
            ? step.text
            : 'registry: registered (the registration, its owner and phone withheld)',
        );
        break;
      case 'customs':
        if (view === 'full') out.push(step.text);
        else if (step.quotesCustoms) {
          if (!declarationsWithheld) out.push(`declarations: listed, ${withheld}`);
          declarationsWithheld = true;
        } else if (
          request.applicationId !== undefined &&
          step.text.startsWith(`application ${request.applicationId}:`)
        )
          // The application the request named: its status and procedure are still KGD's data.
          out.push(`application ${request.applicationId}: ${withheld}`);
        else out.push(step.text);
        break;
    }
  }
  return out;
}

/** The answer `reader` gets for `observed`. */
export function dryRunAnswer(observed: ObservedDryRun, reader: DryRunReader): DryRunAnswer {
  const { request, run, registration } = observed;
  const customsView = reader.customsView;
  if (registration !== null && registration !== undefined) {
    const shown =
      reader.readsPersonalData &&
      reader.basis !== null &&
      readsRegistration(
        reader.tenancy,
        reader.waiting(registration.imei.slice(0, 14)),
        registration.operator,
      );
    if (!shown) {
      return {
        decision: {
          outcome: 'withheld',
          requestId: request.requestId,
          imei: run.full.imei,
          detail: withheldDetail(reader),
        },
        steps: stepsFor(observed, reader, false),
        customsView,
        personalData: false,
        withheld: true,
        registry: 'consulted: registered, owner withheld',
      };
    }
    return {
      decision: decisionInView(customsView, run.full),
      steps: stepsFor(observed, reader, true),
      customsView,
      personalData: true,
      withheld: false,
      ...(run.recorded === null ? {} : { registeredOwner: run.recorded }),
      registry: 'consulted: registered, owner shown',
    };
  }
  const registry = registration === null ? 'consulted: not registered' : 'not consulted';
  if (observed.duplicate && reader.tenancy.kind !== 'all') {
    const normalised = normaliseImei(request.imei);
    return {
      decision: {
        outcome: 'rejected',
        requestId: request.requestId,
        imei: normalised.ok ? normalised.imei : request.imei,
        reason: 'duplicate_request',
        detail: `request ${request.requestId} already has a final outcome`,
      },
      steps: stepsFor(observed, reader, false),
      customsView,
      personalData: false,
      withheld: false,
      registry,
    };
  }
  return {
    decision: decisionInView(customsView, run.full),
    steps: stepsFor(observed, reader, false),
    customsView,
    personalData: false,
    withheld: false,
    registry,
  };
}

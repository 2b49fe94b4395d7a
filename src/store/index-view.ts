/** The rules' read-only view (workers/types.ts IndexView) over the LMDB stores. */
import type { IndexView } from '../../workers/types.js';
import type { Store } from './store.js';

export function lmdbIndexView(store: Store): IndexView {
  const { tac, blocklist, declarations, applications, localProduction, registry, outcomes } = store;
  return {
    tac: (key) => tac.get(key),
    blocked: (body) => blocklist.get(body),
    declarations: (body) => declarations.get(body),
    application: (id) => applications.get(id),
    localProduction: (body) => localProduction.get(body),
    registered: (body) => registry.get(body),
    outcome: (requestId) => outcomes.get(requestId),
  };
}

/** What a provider re-checks before it acknowledges: the chain's answers now, not the event's. */
import type { RegistryClient } from "../clients/registry";
import { formatPrefix } from "../prefix";
import type { RequestedEvent } from "../clients/market";

export type Verdict = { ok: true } | { ok: false; reason: string; code: number };

/** Re-checks that the requester is active and still holds all of the target. */
export async function verifyRequest(event: RequestedEvent, registry: RegistryClient): Promise<Verdict> {
  const participant = await registry.participant(event.requester);
  if (participant.status !== "active") {
    return { ok: false, reason: `${event.requester} is ${participant.status}`, code: 3 };
  }
  if (!(await registry.isHolder(event.requester, event.target))) {
    return { ok: false, reason: `${event.requester} does not hold all of ${formatPrefix(event.target)}`, code: 3 };
  }
  return { ok: true };
}

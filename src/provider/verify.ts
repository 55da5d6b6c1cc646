/** What a provider re-checks before it acknowledges: the chain's answers now, not the event's. */
import type { RegistryClient, ParticipantStatusName } from "../clients/registry";
import { formatPrefix, type Prefix } from "../prefix";
import type { RequestedEvent } from "../clients/market";

export type Verdict = { ok: true } | { ok: false; reason: string; code: number };

/**
 * The verdict on a requester's standing, from the registry's answers: it must be an active
 * participant and hold all of the target. Direct requests and signed orders are judged alike.
 */
export function standingVerdict(
  requester: string,
  target: Prefix,
  status: ParticipantStatusName,
  holdsAll: boolean,
): Verdict {
  if (status !== "active") return { ok: false, reason: `${requester} is ${status}`, code: 3 };
  if (!holdsAll) return { ok: false, reason: `${requester} does not hold all of ${formatPrefix(target)}`, code: 3 };
  return { ok: true };
}

/** Re-checks that the requester is active and still holds all of the target. */
export async function verifyRequest(event: RequestedEvent, registry: RegistryClient): Promise<Verdict> {
  const participant = await registry.participant(event.requester);
  if (participant.status !== "active") return standingVerdict(event.requester, event.target, participant.status, false);
  const holdsAll = await registry.isHolder(event.requester, event.target);
  return standingVerdict(event.requester, event.target, participant.status, holdsAll);
}

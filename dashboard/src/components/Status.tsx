import type { MitigationRow } from "../../../src/dashboard/model";
import { clock, dotsLabel, rejectLabel, seconds } from "../text";

/** The request's status as a coloured badge; a pending request past its deadline says so. */
export function StatusBadge({ row, now }: { row: MitigationRow; now: number }) {
  const late = row.status === "pending" && row.ackDeadline < now;
  return <span className={`status ${row.status}${late ? " late" : ""}`}>{late ? "unanswered" : row.status}</span>;
}

/** What became of the request: how fast the provider answered, or why not. */
export function Outcome({ row }: { row: MitigationRow }) {
  const answer = row.answeredAt === undefined ? null : seconds(row.answeredAt - row.time);
  if (row.kind === "order") {
    // Settled acknowledged by the provider: no answer to time.
    return (
      <>
        settled by order
        {row.endsAt !== undefined && (
          <small>
            {row.status === "withdrawn" ? "ended" : "until"} {clock(row.endsAt)}
          </small>
        )}
      </>
    );
  }
  switch (row.status) {
    case "acknowledged":
    case "withdrawn":
      return (
        <>
          in {answer}
          {row.endsAt !== undefined && (
            <small>
              {row.status === "withdrawn" ? "ended" : "until"} {clock(row.endsAt)}
            </small>
          )}
        </>
      );
    case "rejected":
      return (
        <>
          in {answer}
          <small>{rejectLabel(row.rejectReason ?? 0)}</small>
        </>
      );
    case "reclaimed":
      return (
        <>
          none by {clock(row.ackDeadline)}
          <small>escrow reclaimed</small>
        </>
      );
    default:
      return <>answer due by {clock(row.ackDeadline)}</>;
  }
}

/** The provider's last DOTS status report and the victim's view of the attack. */
export function Reports({ row }: { row: MitigationRow }) {
  const last = row.reports.at(-1);
  const attack = row.attackStatus === 1 ? "victim: under attack" : row.attackStatus === 2 ? "victim: mitigated" : null;
  if (last === undefined && attack === null) return <span className="muted">–</span>;
  return (
    <>
      {last !== undefined && <span className={`dots dots-${last.status}`}>{dotsLabel(last.status)}</span>}
      {row.reports.length > 1 && <small>{row.reports.length} reports</small>}
      {attack !== null && <small>{attack}</small>}
      {row.rating !== undefined && <small>rated {row.rating} / 5</small>}
    </>
  );
}

/** An offering's terms as table cells, the same in the Market and Lookup views. */
import type { OfferingInfo } from "../../../src/clients/market";
import { formatTokens } from "../../../src/format";
import { duration, kindLabel } from "../text";

export function OfferingHeaders() {
  return (
    <>
      <th>Kind</th>
      <th>Price per hour</th>
      <th>Max duration</th>
      <th>Capacity</th>
      <th>Offering</th>
    </>
  );
}

export function OfferingCells({ offering }: { offering: Omit<OfferingInfo, "id"> }) {
  return (
    <>
      <td>{kindLabel(offering.kind)}</td>
      <td className="number price">{formatTokens(offering.pricePerHour)}</td>
      <td className="number">{duration(offering.maxDuration)}</td>
      <td className="number">{offering.capacity}</td>
      <td>{offering.active ? "active" : <span className="muted">inactive</span>}</td>
    </>
  );
}

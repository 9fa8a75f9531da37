import type { JsonValue, Op, Operation } from '../destination/destination-api.js';
import { parseJsonLossless, quoteNonFiniteNumbers } from '../destination/lossless-json.js';
import type { Row } from '../warehouse/connection.js';

/** A planned delta row; its fields are parsed only if a destination asks for them. */
export class PlanOperation implements Operation {
  private parsed: Readonly<Record<string, JsonValue>> | undefined;
  constructor(
    /** The row's number in the plan: batches are ranges of them. */
    readonly rowNo: number,
    readonly op: Op,
    readonly key: string,
    readonly fieldsJson: string,
    readonly destinationRecordId: string | null,
    readonly previousFieldsJson: string | null = null,
    /** The snapshot holds this key: committing its success replaces a snapshot row. */
    readonly inSnapshot = true,
  ) {}

  get previousFields(): Readonly<Record<string, JsonValue>> | null {
    return this.previousFieldsJson === null ? null : (parseJsonLossless(this.previousFieldsJson) as Record<string, JsonValue>);
  }

  get fields(): Readonly<Record<string, JsonValue>> {
    this.parsed ??= parseJsonLossless(this.fieldsJson) as Record<string, JsonValue>;
    return this.parsed;
  }

  static fromRow(row: Row): PlanOperation {
    const previous = (row.previous_fields_json as string | null | undefined) ?? null;
    return new PlanOperation(
      Number(row.row_no),
      row.op as Op,
      String(row.record_key),
      quoteNonFiniteNumbers((row.fields_json as string | null) ?? '{}'),
      (row.destination_record_id as string | null) ?? null,
      previous === null ? null : quoteNonFiniteNumbers(previous),
      row.in_snapshot === true || row.in_snapshot === 't' || row.in_snapshot === 'true',
    );
  }
}

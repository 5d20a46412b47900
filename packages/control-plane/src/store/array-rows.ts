/**
 * Rows read as arrays (`QueryOptions.rowMode: 'array'`) for the hot path: one field table per row
 * type gives both its select list and its reader, so the two cannot drift apart. In array rows a
 * timestamp travels as epoch milliseconds: a float parses far faster than a timestamp's text, and
 * the hot path parses dozens per statement.
 */

/** A row field: its name, the SQL expression that yields it, and whether it is a timestamp. */
export type Field<R> = readonly [name: keyof R & string, expr: string, kind: 'time' | 'value'];

/**
 * A timestamp as epoch milliseconds, a float8. Computed in exact numeric and converted last, so a
 * whole millisecond stays whole (float seconds times 1000 can land a hair below it, and `Date`
 * would truncate that to the millisecond before).
 */
export const epochMsSql = (expr: string) => `(extract(epoch FROM ${expr}) * 1000)::float8`;

/** `expr AS name, …`; with `epochMs`, timestamps as epoch milliseconds (for `rowFromArray`). */
export function selectList<R>(fields: ReadonlyArray<Field<R>>, epochMs: boolean): string {
  return fields
    .map(([name, expr, kind]) =>
      epochMs && kind === 'time' ? `${epochMsSql(expr)} AS ${name}` : `${expr} AS ${name}`,
    )
    .join(', ');
}

/** The row in `values[at]` … `values[at + fields.length - 1]` of an array row. */
export function rowFromArray<R>(fields: ReadonlyArray<Field<R>>, values: readonly unknown[], at: number): R {
  const row: Record<string, unknown> = {};
  for (let i = 0; i < fields.length; i++) {
    const [name, , kind] = fields[i]!;
    const v = values[at + i];
    row[name] = kind === 'time' && v !== null ? new Date(v as number) : v;
  }
  return row as R;
}

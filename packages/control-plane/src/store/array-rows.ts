/**
 * Rows the hot path reads as JSON arrays: one `json_build_array(…)` column per row type instead of
 * one column per field. pg describes and parses every column of every statement again: by hand, a
 * session's fields as one JSON array took about a quarter less Node CPU than the same fields as
 * columns. One field table per row type gives both the select list and the reader, so the two
 * cannot drift apart. In these arrays a timestamp travels as epoch milliseconds, which `new Date(n)`
 * takes without parsing any text.
 */

/** A row field: its name, the SQL expression that yields it, and whether it is a timestamp. */
export type Field<R> = readonly [name: keyof R & string, expr: string, kind: 'time' | 'value'];

/**
 * A timestamp as epoch milliseconds, a float8. Computed in exact numeric and converted last, so a
 * whole millisecond stays whole (float seconds times 1000 can land a hair below it, and `Date`
 * would truncate that to the millisecond before).
 */
export const epochMsSql = (expr: string) => `(extract(epoch FROM ${expr}) * 1000)::float8`;

/** `expr AS name, …`: the fields as columns of their own (rows read as objects). */
export function selectList<R>(fields: ReadonlyArray<Field<R>>): string {
  return fields.map(([name, expr]) => `${expr} AS ${name}`).join(', ');
}

/** `json_build_array(…)` of the fields in order, timestamps as epoch ms (read by `rowFromJsonArray`). */
export function jsonArraySql<R>(fields: ReadonlyArray<Field<R>>): string {
  return `json_build_array(${fields.map(([, expr, kind]) => (kind === 'time' ? epochMsSql(expr) : expr)).join(', ')})`;
}

/** The row a `jsonArraySql(fields)` column held, once parsed. */
export function rowFromJsonArray<R>(fields: ReadonlyArray<Field<R>>, values: readonly unknown[]): R {
  const row: Record<string, unknown> = {};
  for (let i = 0; i < fields.length; i++) {
    const [name, , kind] = fields[i]!;
    const v = values[i];
    row[name] = kind === 'time' && v !== null ? new Date(v as number) : v;
  }
  return row as R;
}

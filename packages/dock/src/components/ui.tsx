import type { ComponentChildren } from 'preact';

export type Tone = 'ok' | 'warn' | 'bad' | 'idle' | 'info';

/** `data-*` attributes passed through to the element, for tests and styling hooks. */
type DataAttrs = { [k: `data-${string}`]: string | undefined };

/** A state label: icon and words carry the meaning, colour only reinforces it. */
export function Badge({
  tone,
  icon,
  children,
  ...data
}: { tone: Tone; icon: string; children: ComponentChildren } & DataAttrs) {
  return (
    <span class={`badge tone-${tone}`} {...data}>
      <span aria-hidden="true">{icon}</span> {children}
    </span>
  );
}

export function Panel({
  id,
  title,
  children,
  extra,
}: {
  id: string;
  title: string;
  children: ComponentChildren;
  extra?: ComponentChildren;
}) {
  return (
    <section class={`panel panel-${id}`} aria-labelledby={`h-${id}`} data-panel={id}>
      <header class="panel-head">
        <h2 id={`h-${id}`}>{title}</h2>
        {extra}
      </header>
      {children}
    </section>
  );
}

/** `stacked` puts the value under its label, for long labels or values in a 300 px dock. */
export function Row({
  label,
  stacked,
  children,
}: {
  label: string;
  stacked?: boolean;
  children: ComponentChildren;
}) {
  return (
    <div class={stacked ? 'kv kv-stacked' : 'kv'}>
      <span class="k">{label}</span>
      <span class="v">{children}</span>
    </div>
  );
}

export function Muted({ children }: { children: ComponentChildren }) {
  return <p class="muted">{children}</p>;
}

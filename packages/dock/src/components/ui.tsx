import type { ComponentChildren } from 'preact';

export type Tone = 'ok' | 'warn' | 'bad' | 'idle' | 'info';

/** A state label: icon and words carry the meaning, colour only reinforces it. */
export function Badge({ tone, icon, children }: { tone: Tone; icon: string; children: ComponentChildren }) {
  return (
    <span class={`badge tone-${tone}`}>
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

export function Row({ label, children }: { label: string; children: ComponentChildren }) {
  return (
    <div class="kv">
      <span class="k">{label}</span>
      <span class="v">{children}</span>
    </div>
  );
}

export function Muted({ children }: { children: ComponentChildren }) {
  return <p class="muted">{children}</p>;
}

import { createContext } from 'preact';
import { useContext, useEffect, useState } from 'preact/hooks';
import type { ConnectionSnapshot, DockConnection } from './connection.js';

export const ConnectionContext = createContext<DockConnection | null>(null);

/** The connection and its latest snapshot; re-renders the caller on every change. */
export function useConnection(): [DockConnection, ConnectionSnapshot] {
  const conn = useContext(ConnectionContext);
  if (!conn) throw new Error('useConnection outside ConnectionContext');
  const [snap, setSnap] = useState(conn.snapshot);
  useEffect(() => {
    setSnap(conn.snapshot);
    return conn.subscribe(setSnap);
  }, [conn]);
  return [conn, snap];
}

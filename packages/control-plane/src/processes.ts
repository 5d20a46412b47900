// The pid helpers live with the pid lock in the protocol package, which the CLI's start lock shares.
export { processAlive, processStartTime } from '@telemy/protocol/pid-lock';

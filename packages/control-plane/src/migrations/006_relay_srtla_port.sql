-- The SRTLA port of a relay that takes bonding senders (BELABOX, Moblin, IRL Pro) next to plain SRT;
-- null for relays that run no SRTLA receiver.
ALTER TABLE relay_instances
  ADD COLUMN srtla_port integer CHECK (srtla_port BETWEEN 1 AND 65535);

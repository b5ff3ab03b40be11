import type { ChainClients } from '../chain/clients.ts';
import type { ProtocolContracts } from '../chain/protocol.ts';
import type { BlobStore } from './blobs.ts';
import type { Database } from './database.ts';

/**
 * What every stage of the node works with: its store, its blobs, and its own chain account (which
 * pays the gas of what the node sends and curates every datanet it registers).
 */
export interface NodeContext {
  db: Database;
  blobs: BlobStore;
  /** Clients signing as the node's account. */
  clients: ChainClients;
  contracts: ProtocolContracts;
}

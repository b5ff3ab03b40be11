import type { ChainClients } from '../chain/clients.ts';
import type { ProtocolContracts } from '../chain/protocol.ts';
import type { BlobStore } from '../store/blobs.ts';
import type { Database } from '../store/database.ts';

/** What the datanet module works with: the store, the blobs, and the node's own chain account. */
export interface DatanetContext {
  db: Database;
  blobs: BlobStore;
  /** Clients signing as the node's account, which is a curator of every datanet it registers. */
  clients: ChainClients;
  contracts: ProtocolContracts;
}

/**
 * Per-domain limits, with the defaults of C xenstored's hard_quotas[] table
 * (tools/xenstored/domain.c). They bind unprivileged domains only; dom0 is
 * exempt, as domain_max_chk() and domain_is_unprivileged() make it.
 */
export interface XsQuotas {
  /** Nodes a domain may own ("nodes", 1000). */
  nodes: number;
  /** Watches per connection ("watches", 128). */
  watches: number;
  /** Replies waiting to be written before we stop reading requests ("outstanding", 20). */
  outstanding: number;
  /** Open transactions per connection ("transactions", 10). */
  transactions: number;
  /** Nodes one transaction may touch ("transaction-nodes", 1024). */
  transactionNodes: number;
  /** Entries in one node's permission list ("node-permissions", 5). */
  nodePerms: number;
  /** Path length below /local/domain/<id>/ ("path-max", XENSTORE_REL_PATH_MAX 2048). */
  pathMax: number;
  /** Node size: header + permissions + value + child names ("node-size", 2048). */
  nodeSize: number;
  /**
   * Bytes of replies and watch events queued for one domain. xenstored's
   * "memory" quota (2.5 MB) covers this and more; past it, new watch events
   * for the domain are dropped (send_event()).
   */
  outputBytes: number;
}

export const DEFAULT_QUOTAS: Readonly<XsQuotas> = Object.freeze({
  nodes: 1000,
  watches: 128,
  outstanding: 20,
  transactions: 10,
  transactionNodes: 1024,
  nodePerms: 5,
  pathMax: 2048,
  nodeSize: 2048,
  outputBytes: 2.5 * 1024 * 1024,
});

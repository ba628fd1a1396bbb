// A partition group follows the cluster's leader. Clients find the leader through the metadata group
// (GetClusterMetadata names its primary) and send there; a partition group whose primary is another replica answers
// those sends NotLeader, and before this nothing ever brought the two back together: each group changes view on its
// own timeouts, so after a failover they could settle on different primaries for good.
//
// The rule: the metadata group's primary, normal in its view, moves each partition group it does not lead (and that
// is normal itself) to the next view it leads. It is a view change like any other: the DVC merge keeps every op a
// quorum holds, so nothing acknowledged is lost by it. Only that one replica starts it; a backup with a stale idea
// of the leader cannot pull a group away from the real one, and two replicas never race to take the same group
// (two that both believe they lead the metadata group are in different metadata views, and the older one learns of
// the newer view from the newer primary's messages, as any deposed primary does).
import { STATUS_NORMAL } from "./constants";
import { Replica } from "./replica";
import { startViewChange } from "./view_change";

// The replica's group follows a leader group whose own replica here is in `leaderView` with `leaderStatus` (the same
// roster: replica i of one group is replica i of the other). Returns whether a view change started.
export function followLeader(r: Replica, leaderView: u32, leaderStatus: u32): bool {
  if (r.count == 1 || leaderStatus != STATUS_NORMAL) return false;
  if (r.primaryIndex(leaderView) != r.replica) return false; // only the leader moves a group to itself
  if (r.status != STATUS_NORMAL || r.isPrimary()) return false; // a view change in progress settles first
  // Behind the primary's checkpoint, it could not repair as the new primary what the others no longer keep: the view
  // change would time out and the next try start again, for ever. It catches up first (state_sync.ts), then takes over.
  if (r.commitMin < r.clusterCheckpoint) return false;
  // Nor while it has not executed every op it knows committed (a StartView told it the primary's commit): behind
  // (reopened or restarted, caught up to an older point), its view change could need ops the others no longer keep,
  // and it would take the group over before any Commit heartbeat told it their checkpoint.
  if (r.commitMin < r.commitMax) return false;
  let view = r.view + 1;
  while (r.primaryIndex(view) != r.replica) view++;
  startViewChange(r, view);
  assert(r.isPrimary(), "follow leader: the new view's primary is this replica");
  return true;
}

// Whether this replica may take writes for its group: it is the group's primary, normal, and the leader group's
// primary too, normal (a single replica: its own primary). A group's primary that is not the leader waits for the
// leader to take the group over instead of proposing: at a partition's creation every replica starts it in view 0,
// whose primary may not be the leader, and an op that primary wrote before the takeover would be replaced by it.
export function leadsWith(r: Replica, leaderView: u32, leaderStatus: u32): bool {
  if (r.status != STATUS_NORMAL || !r.isPrimary()) return false;
  if (r.count == 1) return true;
  return leaderStatus == STATUS_NORMAL && r.primaryIndex(leaderView) == r.replica;
}

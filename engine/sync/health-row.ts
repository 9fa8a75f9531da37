/** One row of the sync_health view, JSON-safe. */
export interface HealthRow {
  sync_name: string;
  last_run_id: string | null;
  last_status: string;
  last_run_at: string | null;
  last_finished_at: string | null;
  last_success_at: string | null;
  last_error: string | null;
  model: string | null;
  destination: string | null;
  members: number | null;
  pending_retries: number | null;
  pending_jobs: number;
  quarantined: number;
}

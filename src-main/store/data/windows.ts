// Maintenance windows of a tenant in scope.
import { ScopedData } from './scope.ts';

export interface WindowRow { id: string; name: string; days: string; start_minute: number; duration_minutes: number }

export class Windows extends ScopedData {

  async ofTenant(tenantId: string): Promise<WindowRow[]> {
    this.scope.tenantById(tenantId);
    return this.sql.all<WindowRow>('SELECT id, name, days, start_minute, duration_minutes FROM maintenance_windows WHERE tenant_id = ? ORDER BY name, id', [tenantId]);
  }
}

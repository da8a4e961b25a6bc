// The virtual day of a device (written in the next step).
export interface DayResult {
  seed: number;
}
export async function runDay(seed: number): Promise<DayResult> {
  return { seed };
}
export function renderDay(day: DayResult): string {
  return `day ${day.seed}: not yet`;
}

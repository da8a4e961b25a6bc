import { packageProject } from '../../tooling/config/vitest.shared.ts';

export default packageProject('app-esp32', 60_000);

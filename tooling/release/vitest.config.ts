import { packageProject } from '../config/vitest.shared.ts';

export default packageProject('release', 60_000);

import { packageProject } from '../config/vitest.shared.ts';

export default packageProject('testkit', 30_000);

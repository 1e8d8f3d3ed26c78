// Lint: typescript-eslint's recommended rules, no `any`, and import boundaries: a service may
// use packages (`@trustee/*` through their exports map) but never another service's files, and
// packages never import services. Every error class extends @trustee/errors' TrusteeError.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const services = ['kbs', 'as', 'rvps'];

const serviceBoundaries = services.map((service) => ({
  files: [`services/${service}/**/*.ts`],
  rules: {
    'no-restricted-imports': [
      'error',
      {
        patterns: [
          {
            group: services.filter((other) => other !== service).flatMap((other) => [`**/services/${other}/**`, `@trustee/${other}`, `@trustee/${other}/**`]),
            message: 'Services never import another service; move shared code into a package.',
          },
          { group: ['**/packages/*/src/**'], message: 'Import packages by name (@trustee/...), through their exports map.' },
        ],
      },
    ],
  },
}));

export default tseslint.config(
  { ignores: ['**/node_modules/**', '**/dist/**', 'data/**', 'deploy/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'off',
      // One error base: every error class carries a stable code (packages/errors).
      'no-restricted-syntax': [
        'error',
        {
          selector: ':matches(ClassDeclaration, ClassExpression)[superClass.name=/^(Error|TypeError|RangeError|SyntaxError)$/]',
          message: 'Extend TrusteeError (or errorClassWithCode) from @trustee/errors, so the error has a stable code.',
        },
      ],
    },
  },
  ...serviceBoundaries,
  {
    // Services log through @trustee/log (request ids on every line); only the process entry
    // points and CLIs print to the user (usage, `listening on` lines, fatal start errors).
    files: ['services/*/src/**/*.ts'],
    ignores: ['**/*.test.ts', '**/testing/**', 'services/*/src/main.ts', 'services/as/src/serve.ts', 'services/as/src/verifyCli.ts', 'services/as/src/collateral*.ts', 'services/rvps/src/tool.ts'],
    rules: { 'no-console': 'error' },
  },
  {
    files: ['packages/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['**/services/**', '@trustee/kbs', '@trustee/as', '@trustee/rvps'], message: 'Packages never import services.' },
            { group: ['../../*/src/**', '../../../packages/**'], message: 'Import other packages by name (@trustee/...).' },
          ],
        },
      ],
    },
  },
);

/**
 * GraphQL lexer and parser with the behaviour and error texts of vektah/gqlparser (the library
 * behind OPA's graphql.* builtins). The AST is built directly in the JSON shape OPA returns
 * (Go struct field names: Operations, SelectionSet, Alias, Kind, Raw, ...), with a `Position`
 * on nodes that matter for error locations (OPA prunes `Position` from its results).
 */
import { TrusteeError } from '@trustee/errors';

export class GraphqlError extends TrusteeError<'invalid_graphql'> {
  constructor(message: string, readonly line: number, readonly column: number) {
    super('invalid_graphql', message);
  }
}

export interface Position { Line: number; Column: number }
export type Node = Record<string, unknown> & { Position?: Position };

type Kind =
  | 'Invalid' | 'EOF' | 'Bang' | 'Dollar' | 'Amp' | 'ParenL' | 'ParenR' | 'Spread' | 'Colon' | 'Equals' | 'At'
  | 'BracketL' | 'BracketR' | 'BraceL' | 'Pipe' | 'BraceR' | 'Name' | 'Int' | 'Float' | 'String' | 'BlockString' | 'Comment';

interface Token { kind: Kind; value: string; line: number; column: number }

const PUNCTUATORS: Readonly<Record<string, Kind>> = {
  '!': 'Bang', $: 'Dollar', '&': 'Amp', '(': 'ParenL', ')': 'ParenR', ':': 'Colon', '=': 'Equals', '@': 'At',
  '[': 'BracketL', ']': 'BracketR', '{': 'BraceL', '|': 'Pipe', '}': 'BraceR',
};

const KIND_TEXT: Readonly<Partial<Record<Kind, string>>> = {
  Invalid: '<Invalid>', EOF: '<EOF>', Bang: '!', Dollar: '$', Amp: '&', ParenL: '(', ParenR: ')', Spread: '...',
  Colon: ':', Equals: '=', At: '@', BracketL: '[', BracketR: ']', BraceL: '{', Pipe: '|', BraceR: '}',
};

function kindName(kind: Kind): string {
  return KIND_TEXT[kind] ?? kind;
}

function tokenText(t: Token): string {
  if (t.kind === 'Name' || t.kind === 'Int' || t.kind === 'Float' || t.kind === 'String' || t.kind === 'BlockString') {
    return `${t.kind} ${JSON.stringify(t.value)}`;
  }
  return kindName(t.kind);
}

const MAX_SOURCE = 1024 * 1024;

class Lexer {
  private pos = 0;
  private line = 1;
  private lineStart = 0;
  constructor(private readonly src: string) {}

  private column(at: number): number {
    return Array.from(this.src.slice(this.lineStart, at)).length + 1;
  }

  private newline(at: number): void {
    this.line++;
    this.lineStart = at;
  }

  next(): Token {
    const s = this.src;
    for (;;) {
      while (this.pos < s.length) {
        const c = s[this.pos];
        if (c === ' ' || c === '\t' || c === ',' || c === '\ufeff') this.pos++;
        else if (c === '\n') {
          this.pos++;
          this.newline(this.pos);
        } else if (c === '\r') {
          this.pos += s[this.pos + 1] === '\n' ? 2 : 1;
          this.newline(this.pos);
        } else break;
      }
      if (s[this.pos] === '#') {
        while (this.pos < s.length && s[this.pos] !== '\n' && s[this.pos] !== '\r') this.pos++;
        continue;
      }
      break;
    }
    const start = this.pos;
    const line = this.line;
    const column = this.column(start);
    const make = (kind: Kind, value: string): Token => ({ kind, value, line, column });
    const invalid = (): Token => ({ kind: 'Invalid', value: '', line: this.line, column: this.column(this.pos) });
    if (this.pos >= s.length) return make('EOF', '');
    const c = s[this.pos] as string;
    const punct = PUNCTUATORS[c];
    if (punct !== undefined) {
      this.pos++;
      return make(punct, c);
    }
    if (c === '.') {
      if (s.startsWith('...', this.pos)) {
        this.pos += 3;
        return make('Spread', '...');
      }
      this.pos++;
      return invalid();
    }
    if (/[_A-Za-z]/.test(c)) {
      let end = this.pos + 1;
      while (end < s.length && /[_0-9A-Za-z]/.test(s[end] as string)) end++;
      const value = s.slice(this.pos, end);
      this.pos = end;
      return make('Name', value);
    }
    if (c === '-' || /[0-9]/.test(c)) {
      const m = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(s.slice(this.pos, this.pos + 1000));
      if (m === null || m[0] === '-' || /[_A-Za-z.]/.test(s[this.pos + m[0].length] ?? '')) {
        this.pos += Math.max(1, m?.[0].length ?? 1);
        return invalid();
      }
      this.pos += m[0].length;
      return make(m[2] !== undefined || m[3] !== undefined ? 'Float' : 'Int', m[0]);
    }
    if (c === '"') {
      // gqlparser positions string tokens after their opening quote(s).
      const quoted = (kind: Kind, value: string): Token => ({ kind, value, line, column: column + (kind === 'BlockString' ? 3 : 1) });
      if (s.startsWith('"""', this.pos)) return this.blockString(quoted, invalid);
      return this.string(quoted, invalid);
    }
    this.pos++;
    return invalid();
  }

  private string(make: (k: Kind, v: string) => Token, invalid: () => Token): Token {
    const s = this.src;
    this.pos++;
    let out = '';
    while (this.pos < s.length) {
      const c = s[this.pos] as string;
      if (c === '"') {
        this.pos++;
        return make('String', out);
      }
      if (c === '\n' || c === '\r') return invalid();
      if (c === '\\') {
        const e = s[this.pos + 1];
        const map: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
        if (e !== undefined && map[e] !== undefined) {
          out += map[e];
          this.pos += 2;
          continue;
        }
        if (e === 'u') {
          const hex = s.slice(this.pos + 2, this.pos + 6);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) return invalid();
          out += String.fromCharCode(Number.parseInt(hex, 16));
          this.pos += 6;
          continue;
        }
        return invalid();
      }
      out += c;
      this.pos++;
    }
    return invalid();
  }

  private blockString(make: (k: Kind, v: string) => Token, invalid: () => Token): Token {
    const s = this.src;
    this.pos += 3;
    let raw = '';
    while (this.pos < s.length) {
      if (s.startsWith('"""', this.pos)) {
        this.pos += 3;
        return make('BlockString', blockStringValue(raw));
      }
      if (s.startsWith('\\"""', this.pos)) {
        raw += '"""';
        this.pos += 4;
        continue;
      }
      const c = s[this.pos] as string;
      if (c === '\n') this.newline(this.pos + 1);
      else if (c === '\r') {
        if (s[this.pos + 1] === '\n') {
          raw += '\r\n';
          this.pos += 2;
          this.newline(this.pos);
          continue;
        }
        this.newline(this.pos + 1);
      }
      raw += c;
      this.pos++;
    }
    return invalid();
  }
}

/** The GraphQL spec's BlockStringValue (common indentation removal, blank edge lines dropped). */
function blockStringValue(raw: string): string {
  const lines = raw.split(/\r\n|\n|\r/);
  let common: number | undefined;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i] as string;
    const indent = line.length - line.replace(/^[ \t]+/, '').length;
    if (indent < line.length && (common === undefined || indent < common)) common = indent;
  }
  if (common !== undefined) for (let i = 1; i < lines.length; i++) lines[i] = (lines[i] as string).slice(common);
  while (lines.length > 0 && /^[ \t]*$/.test(lines[0] as string)) lines.shift();
  while (lines.length > 0 && /^[ \t]*$/.test(lines[lines.length - 1] as string)) lines.pop();
  return lines.join('\n');
}

const DIRECTIVE_LOCATIONS = new Set([
  'QUERY', 'MUTATION', 'SUBSCRIPTION', 'FIELD', 'FRAGMENT_DEFINITION', 'FRAGMENT_SPREAD', 'INLINE_FRAGMENT',
  'VARIABLE_DEFINITION', 'SCHEMA', 'SCALAR', 'OBJECT', 'FIELD_DEFINITION', 'ARGUMENT_DEFINITION', 'INTERFACE',
  'UNION', 'ENUM', 'ENUM_VALUE', 'INPUT_OBJECT', 'INPUT_FIELD_DEFINITION',
]);

const MAX_DEPTH = 200;

class Parser {
  private readonly lexer: Lexer;
  private peeked: Token | undefined;
  private prev: Token | undefined;
  private depth = 0;

  constructor(src: string) {
    if (src.length > MAX_SOURCE) throw new GraphqlError('document too large', 1, 1);
    this.lexer = new Lexer(src);
  }

  peek(): Token {
    this.peeked ??= this.lexer.next();
    return this.peeked;
  }

  next(): Token {
    const t = this.peek();
    this.peeked = undefined;
    this.prev = t;
    return t;
  }

  private fail(t: Token, message: string): never {
    throw new GraphqlError(message, t.line, t.column);
  }

  unexpected(t: Token = this.peek()): never {
    return this.fail(t, `Unexpected ${tokenText(t)}`);
  }

  unexpectedPrevious(): never {
    return this.unexpected(this.prev ?? this.peek());
  }

  expect(kind: Kind): Token {
    const t = this.peek();
    if (t.kind !== kind) this.fail(t, `Expected ${kindName(kind)}, found ${tokenText(t)}`);
    return this.next();
  }

  expectKeyword(value: string): Token {
    const t = this.peek();
    if (t.kind !== 'Name' || t.value !== value) this.fail(t, `Expected ${JSON.stringify(value)}, found ${tokenText(t)}`);
    return this.next();
  }

  skip(kind: Kind): boolean {
    if (this.peek().kind !== kind) return false;
    this.next();
    return true;
  }

  position(): Position {
    const t = this.peek();
    return { Line: t.line, Column: t.column };
  }

  nest<T>(body: () => T): T {
    if (++this.depth > MAX_DEPTH) this.fail(this.peek(), 'document nests too deeply');
    try {
      return body();
    } finally {
      this.depth--;
    }
  }

  /** gqlparser's many(): optional start, any number of items, end. */
  many<T>(start: Kind, end: Kind, item: () => T): T[] {
    const out: T[] = [];
    if (!this.skip(start)) return out;
    while (this.peek().kind !== end) out.push(item());
    this.next();
    return out;
  }

  /** gqlparser's some(): optional start, at least one item, end. */
  some<T>(start: Kind, end: Kind, item: () => T): T[] {
    const out: T[] = [];
    if (!this.skip(start)) return out;
    while (this.peek().kind !== end) out.push(item());
    if (out.length === 0) this.fail(this.peek(), `expected at least one definition, found ${kindName(this.peek().kind)}`);
    this.next();
    return out;
  }

  name(): string {
    return this.expect('Name').value;
  }

  // ---- values and types

  value(isConst: boolean): Node {
    return this.nest(() => {
      const t = this.peek();
      const Position = this.position();
      const node = (Kind: number, Raw: string, Children: Node[] | null = null): Node => ({
        Raw, Children, Kind, Position, Definition: null, VariableDefinition: null, ExpectedType: null, ExpectedTypeHasDefault: false,
      });
      switch (t.kind) {
        case 'BracketL':
          return node(8, '', this.many('BracketL', 'BracketR', () => ({ Name: '', Value: this.value(isConst), Position: this.position() })));
        case 'BraceL':
          return node(9, '', this.many('BraceL', 'BraceR', () => {
            const fieldPosition = this.position();
            const Name = this.name();
            this.expect('Colon');
            return { Name, Value: this.value(isConst), Position: fieldPosition };
          }));
        case 'Dollar':
          if (isConst) this.unexpected();
          this.next();
          return node(0, this.name());
        case 'Int': this.next(); return node(1, t.value);
        case 'Float': this.next(); return node(2, t.value);
        case 'String': this.next(); return node(3, t.value);
        case 'BlockString': this.next(); return node(4, t.value);
        case 'Name':
          this.next();
          return node(t.value === 'true' || t.value === 'false' ? 5 : t.value === 'null' ? 6 : 7, t.value);
        default:
          return this.unexpected();
      }
    });
  }

  typeRef(): Node {
    return this.nest(() => {
      const Position = this.position();
      const type: Node = { NamedType: '', Elem: null, NonNull: false, Position };
      if (this.skip('BracketL')) {
        type['Elem'] = this.typeRef();
        this.expect('BracketR');
      } else {
        type['NamedType'] = this.name();
      }
      if (this.skip('Bang')) type['NonNull'] = true;
      return type;
    });
  }

  directives(isConst: boolean): Node[] {
    const out: Node[] = [];
    while (this.peek().kind === 'At') {
      const Position = this.position();
      this.expect('At');
      const Name = this.name();
      out.push({ Name, Arguments: this.arguments(isConst), Position, ParentDefinition: null, Definition: null, Location: '' });
    }
    return out;
  }

  arguments(isConst: boolean): Node[] {
    return this.many('ParenL', 'ParenR', () => {
      const Position = this.position();
      const Name = this.name();
      this.expect('Colon');
      return { Name, Value: this.value(isConst), Position };
    });
  }

  // ---- queries

  queryDocument(): Node {
    const doc: Node = { Operations: [] as Node[], Fragments: [] as Node[] };
    while (this.peek().kind !== 'EOF') {
      const t = this.peek();
      if (t.kind === 'Name' && (t.value === 'query' || t.value === 'mutation' || t.value === 'subscription')) (doc['Operations'] as Node[]).push(this.operation());
      else if (t.kind === 'Name' && t.value === 'fragment') (doc['Fragments'] as Node[]).push(this.fragmentDefinition());
      else if (t.kind === 'BraceL') (doc['Operations'] as Node[]).push(this.operation());
      else this.unexpected();
    }
    return doc;
  }

  private operation(): Node {
    const Position = this.position();
    if (this.peek().kind === 'BraceL') {
      return { Operation: 'query', Name: '', VariableDefinitions: null, Directives: null, SelectionSet: this.requiredSelectionSet(), Position };
    }
    const Operation = this.operationType();
    const Name = this.peek().kind === 'Name' ? this.next().value : '';
    return {
      Operation, Name, VariableDefinitions: this.variableDefinitions(), Directives: this.directives(false),
      SelectionSet: this.requiredSelectionSet(), Position,
    };
  }

  operationType(): string {
    const t = this.expect('Name');
    if (t.value === 'query' || t.value === 'mutation' || t.value === 'subscription') return t.value;
    return this.unexpected(t);
  }

  private variableDefinitions(): Node[] {
    return this.many('ParenL', 'ParenR', () => {
      const Position = this.position();
      this.expect('Dollar');
      const Variable = this.name();
      this.expect('Colon');
      const Type = this.typeRef();
      const DefaultValue = this.skip('Equals') ? this.value(true) : null;
      return { Variable, Type, DefaultValue, Directives: this.directives(false), Definition: null, Used: false, Position };
    });
  }

  private requiredSelectionSet(): Node[] {
    const t = this.peek();
    if (t.kind !== 'BraceL') this.fail(t, `Expected {, found ${tokenText(t)}`);
    return this.selectionSet();
  }

  private selectionSet(): Node[] {
    return this.nest(() => this.some('BraceL', 'BraceR', () => this.selection()));
  }

  private selection(): Node {
    if (this.peek().kind === 'Spread') return this.fragment();
    const Position = this.position();
    const Alias = this.name();
    const Name = this.skip('Colon') ? this.name() : Alias;
    const Arguments = this.arguments(false);
    const Directives = this.directives(false);
    const SelectionSet = this.peek().kind === 'BraceL' ? this.selectionSet() : null;
    return { Alias, Name, Arguments, Directives, SelectionSet, Position, Definition: null, ObjectDefinition: null };
  }

  private fragment(): Node {
    const Position = this.position();
    this.expect('Spread');
    const t = this.peek();
    if (t.kind === 'Name' && t.value !== 'on') {
      return { Name: this.fragmentName(), Directives: this.directives(false), Position, ObjectDefinition: null, Definition: null };
    }
    let TypeCondition = '';
    if (t.value === 'on') {
      this.next();
      TypeCondition = this.name();
    }
    return { TypeCondition, Directives: this.directives(false), SelectionSet: this.requiredSelectionSet(), Position, ObjectDefinition: null };
  }

  private fragmentName(): string {
    if (this.peek().value === 'on') this.unexpected();
    return this.name();
  }

  private fragmentDefinition(): Node {
    const Position = this.position();
    this.expectKeyword('fragment');
    const Name = this.fragmentName();
    const VariableDefinition = this.variableDefinitions();
    this.expectKeyword('on');
    const TypeCondition = this.name();
    return { Name, VariableDefinition, TypeCondition, Directives: this.directives(false), SelectionSet: this.requiredSelectionSet(), Definition: null, Position };
  }

  // ---- schemas

  schemaDocument(): Node {
    const doc: Node = { Schema: [] as Node[], SchemaExtension: [] as Node[], Directives: [] as Node[], Definitions: [] as Node[], Extensions: [] as Node[] };
    while (this.peek().kind !== 'EOF') {
      const description = this.description();
      const t = this.peek();
      if (t.kind !== 'Name') this.unexpected();
      switch (t.value) {
        case 'scalar': case 'type': case 'interface': case 'union': case 'enum': case 'input':
          (doc['Definitions'] as Node[]).push(this.typeDefinition(description));
          break;
        case 'schema':
          (doc['Schema'] as Node[]).push(this.schemaDefinition(description));
          break;
        case 'directive':
          (doc['Directives'] as Node[]).push(this.directiveDefinition(description));
          break;
        case 'extend':
          if (description !== '') this.unexpectedPrevious();
          this.extension(doc);
          break;
        default:
          this.unexpected();
      }
    }
    return doc;
  }

  private description(): string {
    const t = this.peek();
    if (t.kind === 'String' || t.kind === 'BlockString') return this.next().value;
    return '';
  }

  private schemaDefinition(Description: string): Node {
    const Position = this.position();
    this.expectKeyword('schema');
    const Directives = this.directives(true);
    const OperationTypes = this.some('BraceL', 'BraceR', () => this.operationTypeDefinition());
    return { Description, Directives, OperationTypes, Position };
  }

  private operationTypeDefinition(): Node {
    const Position = this.position();
    const Operation = this.operationType();
    this.expect('Colon');
    return { Operation, Type: this.name(), Position };
  }

  private definition(Kind: string, Description: string, Position: Position): Node {
    return {
      Kind, Description, Name: '', Directives: null, Interfaces: null, Fields: null, Types: null, EnumValues: null,
      Position, BuiltIn: false,
    };
  }

  private typeDefinition(description: string): Node {
    const Position = this.position();
    const keyword = this.next().value;
    switch (keyword) {
      case 'scalar': {
        const def = this.definition('SCALAR', description, Position);
        def['Name'] = this.name();
        def['Directives'] = this.directives(true);
        return def;
      }
      case 'type': case 'interface': {
        const def = this.definition(keyword === 'type' ? 'OBJECT' : 'INTERFACE', description, Position);
        def['Name'] = this.name();
        def['Interfaces'] = this.implementsInterfaces();
        def['Directives'] = this.directives(true);
        def['Fields'] = this.fieldsDefinition();
        return def;
      }
      case 'union': {
        const def = this.definition('UNION', description, Position);
        def['Name'] = this.name();
        def['Directives'] = this.directives(true);
        def['Types'] = this.unionMembers();
        return def;
      }
      case 'enum': {
        const def = this.definition('ENUM', description, Position);
        def['Name'] = this.name();
        def['Directives'] = this.directives(true);
        def['EnumValues'] = this.enumValues();
        return def;
      }
      default: {
        const def = this.definition('INPUT_OBJECT', description, Position);
        def['Name'] = this.name();
        def['Directives'] = this.directives(true);
        def['Fields'] = this.inputFields();
        return def;
      }
    }
  }

  private implementsInterfaces(): string[] {
    const out: string[] = [];
    if (this.peek().kind === 'Name' && this.peek().value === 'implements') {
      this.next();
      this.skip('Amp');
      out.push(this.name());
      while (this.skip('Amp')) out.push(this.name());
    }
    return out;
  }

  private fieldsDefinition(): Node[] {
    return this.some('BraceL', 'BraceR', () => {
      const Description = this.description();
      const Position = this.position();
      const Name = this.name();
      const Arguments = this.argumentDefinitions();
      this.expect('Colon');
      const Type = this.typeRef();
      return { Description, Name, Arguments, DefaultValue: null, Type, Directives: this.directives(true), Position };
    });
  }

  private argumentDefinitions(): Node[] {
    return this.some('ParenL', 'ParenR', () => this.inputValue());
  }

  private inputValue(): Node {
    const Description = this.description();
    const Position = this.position();
    const Name = this.name();
    this.expect('Colon');
    const Type = this.typeRef();
    const DefaultValue = this.skip('Equals') ? this.value(true) : null;
    return { Description, Name, DefaultValue, Type, Directives: this.directives(true), Position };
  }

  private inputFields(): Node[] {
    return this.some('BraceL', 'BraceR', () => this.inputValue());
  }

  private unionMembers(): string[] {
    const out: string[] = [];
    if (this.skip('Equals')) {
      this.skip('Pipe');
      out.push(this.name());
      while (this.skip('Pipe')) out.push(this.name());
    }
    return out;
  }

  private enumValues(): Node[] {
    return this.some('BraceL', 'BraceR', () => {
      const Description = this.description();
      const Position = this.position();
      const Name = this.name();
      return { Description, Name, Directives: this.directives(true), Position };
    });
  }

  private directiveDefinition(Description: string): Node {
    const Position = this.position();
    this.expectKeyword('directive');
    this.expect('At');
    const Name = this.name();
    const Arguments = this.argumentDefinitions();
    let IsRepeatable = false;
    if (this.peek().kind === 'Name' && this.peek().value === 'repeatable') {
      IsRepeatable = true;
      this.next();
    }
    this.expectKeyword('on');
    this.skip('Pipe');
    const Locations = [this.directiveLocation()];
    while (this.skip('Pipe')) Locations.push(this.directiveLocation());
    return { Description, Name, Arguments, IsRepeatable, Locations, Position };
  }

  private directiveLocation(): string {
    const t = this.expect('Name');
    if (DIRECTIVE_LOCATIONS.has(t.value)) return t.value;
    return this.unexpected(t);
  }

  private extension(doc: Node): void {
    this.expectKeyword('extend');
    const t = this.peek();
    const Position = this.position();
    if (t.kind !== 'Name') this.unexpected();
    switch (t.value) {
      case 'schema': {
        this.next();
        const Directives = this.directives(true);
        const OperationTypes = this.some('BraceL', 'BraceR', () => this.operationTypeDefinition());
        if (Directives.length === 0 && OperationTypes.length === 0) this.unexpected();
        (doc['SchemaExtension'] as Node[]).push({ Description: '', Directives, OperationTypes, Position });
        return;
      }
      case 'scalar': case 'type': case 'interface': case 'union': case 'enum': case 'input': {
        this.next();
        const kind = { scalar: 'SCALAR', type: 'OBJECT', interface: 'INTERFACE', union: 'UNION', enum: 'ENUM', input: 'INPUT_OBJECT' }[t.value] as string;
        const def = this.definition(kind, '', Position);
        def['Name'] = this.name();
        let empty = true;
        if (t.value === 'type' || t.value === 'interface') {
          def['Interfaces'] = this.implementsInterfaces();
          if ((def['Interfaces'] as string[]).length > 0) empty = false;
        }
        def['Directives'] = this.directives(true);
        if ((def['Directives'] as Node[]).length > 0) empty = false;
        if (t.value === 'type' || t.value === 'interface') def['Fields'] = this.fieldsDefinition();
        if (t.value === 'input') def['Fields'] = this.inputFields();
        if (t.value === 'union') def['Types'] = this.unionMembers();
        if (t.value === 'enum') def['EnumValues'] = this.enumValues();
        for (const key of ['Fields', 'Types', 'EnumValues']) {
          const list = def[key];
          if (Array.isArray(list) && list.length > 0) empty = false;
        }
        if (empty) this.unexpected();
        (doc['Extensions'] as Node[]).push(def);
        return;
      }
      default:
        this.unexpected();
    }
  }
}

export function parseQueryDocument(source: string): Node {
  return new Parser(source).queryDocument();
}

export function parseSchemaDocument(source: string): Node {
  return new Parser(source).schemaDocument();
}

// Compiles Emitters.sol offline with solcjs (npm "solc") and prints {name: deployedBytecode} as JSON.
const fs = require("fs");
const path = require("path");
const solc = require("solc");
const src = fs.readFileSync(path.join(__dirname, "Emitters.sol"), "utf8");
const input = {
  language: "Solidity",
  sources: { "Emitters.sol": { content: src } },
  settings: { optimizer: { enabled: true, runs: 200 },
              outputSelection: { "*": { "*": ["evm.deployedBytecode.object"] } } },
};
const out = JSON.parse(solc.compile(JSON.stringify(input)));
const errors = (out.errors || []).filter((e) => e.severity === "error");
if (errors.length) { console.error(errors.map((e) => e.formattedMessage).join("\n")); process.exit(1); }
const result = {};
for (const [name, c] of Object.entries(out.contracts["Emitters.sol"])) result[name] = "0x" + c.evm.deployedBytecode.object;
process.stdout.write(JSON.stringify(result));
